import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
} from '@simplewebauthn/browser';
import { guard, post, show, type Ceremony } from './page.js';
import { startCrossDevice } from './crossdevice.js';

/**
 * The sign-in page: username-first, discoverable ("choose a passkey"), conditional UI (autofill)
 * and sign-up. Every ceremony asks the server for options bound to this page's interaction, runs
 * WebAuthn, sends the result back and follows the redirect the server answers with.
 */
async function signIn(email: string | undefined, autofill = false): Promise<void> {
  const { challengeId, options } = await post<Ceremony>('/signin/options', { email });
  const response = await startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });
  show('Checking your passkey…');
  const { redirectTo } = await post<{ redirectTo: string }>('/signin/verify', { challengeId, response });
  window.location.assign(redirectTo);
}

async function signUp(email: string, displayName: string): Promise<void> {
  const { challengeId, options } = await post<Ceremony>('/signup/options', { email, displayName });
  const response = await startRegistration({ optionsJSON: options });
  show('Saving your passkey…');
  const { redirectTo } = await post<{ redirectTo: string }>('/signup/verify', { challengeId, response });
  window.location.assign(redirectTo);
}

async function startAutofill(): Promise<void> {
  if (!(await browserSupportsWebAuthnAutofill())) return;
  // Runs in the background until the user picks a passkey from the e-mail field's suggestions.
  // The person did not ask for it, so a failure (no passkey here, cancelled) stays silent.
  signIn(undefined, true).catch(() => undefined);
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
  document.getElementById('crossdevice-qr')!.addEventListener('click', (event) => {
    const email = (signinForm.elements.namedItem('email') as HTMLInputElement).value.trim() || undefined;
    guard(event.currentTarget as HTMLButtonElement, () => startCrossDevice(false, email));
  });
  document.getElementById('crossdevice-push')!.addEventListener('click', (event) => {
    const email = (signinForm.elements.namedItem('email') as HTMLInputElement).value.trim();
    if (!email) {
      show('Enter your e-mail address first, so we know which phone to ask.', 'error');
      return;
    }
    guard(event.currentTarget as HTMLButtonElement, () => startCrossDevice(true, email));
  });
  void startAutofill();
}
