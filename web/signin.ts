import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
} from '@simplewebauthn/browser';

/**
 * The sign-in page: username-first, discoverable ("choose a passkey"), conditional UI (autofill)
 * and sign-up. Every ceremony asks the server for options bound to this page's interaction, runs
 * WebAuthn, sends the result back and follows the redirect the server answers with.
 */
interface PageConfig { base: string }

const config = JSON.parse(document.getElementById('sesame-config')!.textContent!) as PageConfig;
const status = document.getElementById('status')!;

function show(message: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = message;
  status.className = `status ${kind}`;
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${config.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message ?? 'Something went wrong. Please try again.');
  return data as T;
}

function explain(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'NotAllowedError' || name === 'AbortError') return 'The passkey request was cancelled or timed out. You can try again.';
  if (name === 'InvalidStateError') return 'This device already has a passkey for this account. Sign in with it instead.';
  if (name === 'SecurityError') return 'Passkeys are not allowed on this address. Open the sign-in page over https.';
  return (error as Error).message || 'Something went wrong. Please try again.';
}

type Options = { challengeId: string; options: any };

async function signIn(email: string | undefined, autofill = false): Promise<void> {
  const { challengeId, options } = await post<Options>('/signin/options', { email });
  const response = await startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });
  show('Checking your passkey…');
  const { redirectTo } = await post<{ redirectTo: string }>('/signin/verify', { challengeId, response });
  window.location.assign(redirectTo);
}

async function signUp(email: string, displayName: string): Promise<void> {
  const { challengeId, options } = await post<Options>('/signup/options', { email, displayName });
  const response = await startRegistration({ optionsJSON: options });
  show('Saving your passkey…');
  const { redirectTo } = await post<{ redirectTo: string }>('/signup/verify', { challengeId, response });
  window.location.assign(redirectTo);
}

function guard(button: HTMLButtonElement | null, task: () => Promise<void>): void {
  if (button) button.disabled = true;
  task().catch((error) => show(explain(error), 'error')).finally(() => {
    if (button) button.disabled = false;
  });
}

async function startAutofill(): Promise<void> {
  if (!(await browserSupportsWebAuthnAutofill())) return;
  // Runs in the background until the user picks a passkey from the e-mail field's suggestions.
  signIn(undefined, true).catch((error) => {
    if ((error as { name?: string }).name !== 'AbortError') show(explain(error), 'error');
  });
}

const signinForm = document.getElementById('signin-form') as HTMLFormElement;
const signupForm = document.getElementById('signup-form') as HTMLFormElement;

if (!browserSupportsWebAuthn()) {
  show('This browser does not support passkeys. Use an up-to-date browser, or sign in from your phone.', 'error');
} else {
  signinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = (signinForm.elements.namedItem('email') as HTMLInputElement).value.trim();
    if (!email) {
      show('Enter your e-mail address, or choose a passkey on this device.', 'error');
      return;
    }
    WebAuthnAbortService.cancelCeremony();
    guard(signinForm.querySelector('button'), () => signIn(email));
  });
  document.getElementById('signin-discoverable')!.addEventListener('click', (event) => {
    WebAuthnAbortService.cancelCeremony();
    guard(event.currentTarget as HTMLButtonElement, () => signIn(undefined));
  });
  signupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = (signupForm.elements.namedItem('email') as HTMLInputElement).value.trim();
    const displayName = (signupForm.elements.namedItem('displayName') as HTMLInputElement).value.trim();
    if (!email || !displayName) {
      show('Enter your e-mail address and your name to create an account.', 'error');
      return;
    }
    WebAuthnAbortService.cancelCeremony();
    guard(signupForm.querySelector('button'), () => signUp(email, displayName));
  });
  void startAutofill();
}
