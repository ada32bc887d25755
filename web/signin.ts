import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
} from '@simplewebauthn/browser';
import { ApiError, config as pageConfig, guard, post, show, type Ceremony } from './page.js';
import { emailProblem, explainSignIn, type Explained } from './signin-errors.js';
import { startCrossDevice, stopCrossDevice } from './crossdevice.js';
import { setupRecovery } from './signin-recovery.js';
import { signalRemoved } from './webauthn-signals.js';

/**
 * The sign-in page: one e-mail field with autofill (conditional UI), one passkey button (with an
 * address: that account's passkeys; without: any passkey on this device), a visible way to create
 * an account, and the phone under "Other ways to sign in". Every ceremony asks the server for
 * options bound to this page's interaction (the first autofill ceremony's came with the page), runs
 * WebAuthn, sends the result back and follows the redirect the server answers with.
 */
/**
 * signupOpen false: the tenant's sign-up is by invitation and this browser holds none, so the page explains that instead of a form.
 * autofill: the options of the first autofill ceremony, sent with the page (absent when the server's rate limit refused them).
 */
interface SigninConfig { base: string; clientName: string; restartUrl: string; expiresInMs: number; phoneSetupUrl: string; phone: boolean; verifyEmail: boolean; signupOpen: boolean; autofill?: Ceremony }
const config = pageConfig as unknown as SigninConfig;

/**
 * The page's own challenge, for the first autofill ceremony: one request less per sign-in. A
 * challenge is good for one attempt, so it is handed out once; every later ceremony (a retry, the
 * e-mail form, the button, autofill again after the back button) asks the server for new options.
 */
let inlineCeremony = config.autofill;
function takeInlineCeremony(): Ceremony | undefined {
  const ceremony = inlineCeremony;
  inlineCeremony = undefined;
  return ceremony;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const signinView = $('signin-view');
const signupView = $('signup-view');
const signinForm = $<HTMLFormElement>('signin-form');
const signupForm = document.getElementById('signup-form') as HTMLFormElement | null;
const signinEmail = $<HTMLInputElement>('signin-email');
const signupEmail = document.getElementById('signup-email') as HTMLInputElement | null;
const signupName = document.getElementById('signup-name') as HTMLInputElement | null;
const otherWays = $<HTMLDetailsElement>('other-ways');
const pushButton = $<HTMLButtonElement>('crossdevice-push');
const qrButton = document.getElementById('crossdevice-qr') as HTMLButtonElement | null;
let expired = false;

/** Shows a message under a field; `invalid` when the field's value is the cause. Actions are the next steps. */
function fieldError(input: HTMLInputElement, message: string, invalid: boolean, actions: Array<[string, () => void]> = []): void {
  const box = $(`${input.id}-error`);
  box.replaceChildren();
  const text = document.createElement('p');
  text.textContent = message;
  box.append(text);
  for (const [label, run] of actions) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.textContent = label;
    button.addEventListener('click', run);
    box.append(button);
  }
  box.hidden = false;
  input.setAttribute('aria-invalid', String(invalid));
  const described = new Set((input.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
  described.add(box.id);
  input.setAttribute('aria-describedby', [...described].join(' '));
  if (invalid) input.focus();
}

function clearFieldError(input: HTMLInputElement): void {
  const box = $(`${input.id}-error`);
  box.hidden = true;
  box.replaceChildren();
  input.removeAttribute('aria-invalid');
  const described = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== box.id);
  if (described.length) input.setAttribute('aria-describedby', described.join(' '));
  else input.removeAttribute('aria-describedby');
}

/** The interaction is gone: nothing on the page can work any more, only starting again can. */
function expire(message = 'This sign-in page has expired.'): void {
  if (expired) return;
  expired = true;
  WebAuthnAbortService.cancelCeremony();
  stopCrossDevice();
  for (const control of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>('main button, main input')) control.disabled = true;
  show('');
  $('expired-message').textContent = `${message} Start again to sign in to ${config.clientName}.`;
  const startAgain = $<HTMLAnchorElement>('start-again');
  startAgain.href = config.restartUrl;
  $('expired').hidden = false;
  startAgain.focus();
}

function offerPush(): void {
  pushButton.hidden = false;
  otherWays.hidden = false;
}

function showSignIn(focus: HTMLElement = signinEmail): void {
  signupView.hidden = true;
  signinView.hidden = false;
  focus.focus();
}

function report(input: HTMLInputElement, explained: Explained): void {
  if (explained.cause === 'aborted') return;
  if (explained.cause === 'expired') return expire(explained.message);
  const next: Array<[string, () => void]> = [];
  if (explained.code === 'unknown_account' && config.signupOpen) next.push(['Create an account', () => openSignUp(signinEmail.value.trim())]);
  if (explained.code === 'account_exists' || explained.cause === 'exists_here') next.push(['Sign in instead', () => signInInstead(signupEmail?.value.trim() ?? '')]);
  if (explained.cause === 'not_used' && !otherWays.hidden) next.push(['Show other ways to sign in', () => { otherWays.open = true; otherWays.querySelector('summary')!.focus(); }]);
  fieldError(input, explained.message, explained.invalidField, next);
}

/** The browser's time zone, so that security mails show local times. */
const timeZone = (): string | undefined => Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;

async function signIn(email: string | undefined, autofill = false): Promise<void> {
  const started: Ceremony & { push?: boolean } = (autofill ? takeInlineCeremony() : undefined)
    ?? await post<Ceremony & { push?: boolean }>('/signin/options', { email });
  if (started.push) offerPush();
  const startedAt = Date.now();
  let picked = false;
  try {
    const response = await startAuthentication({ optionsJSON: started.options, useBrowserAutofill: autofill });
    picked = true;
    show('Checking your passkey…');
    try {
      const { redirectTo } = await post<{ redirectTo: string }>('/signin/verify', { challengeId: started.challengeId, response, timeZone: timeZone() });
      window.location.assign(redirectTo);
    } catch (error) {
      // A passkey this site no longer knows (removed elsewhere): the browser is told, so it stops offering it.
      if (error instanceof ApiError && error.code === 'unknown_credential' && started.options.rpId) signalRemoved(started.options.rpId, response.id);
      throw error;
    }
  } catch (error) {
    throw Object.assign(new Error(), { picked, explained: explainSignIn(error, { email, elapsedMs: Date.now() - startedAt, timeoutMs: started.options.timeout }) });
  }
}

async function signUp(email: string, displayName: string, verificationId?: string): Promise<void> {
  const { challengeId, options } = await post<Ceremony>('/signup/options', { email, displayName, verificationId });
  const response = await startRegistration({ optionsJSON: options });
  show('Saving your passkey…');
  const done = await post<{ redirectTo: string; savedIn: 'device' | 'password_manager' }>('/signup/verify', { challengeId, response, timeZone: timeZone() });
  confirmSignUp(done.redirectTo, done.savedIn);
}

/**
 * The address is proved before the passkey is made: a code goes to it, and the person types it here
 * or opens the mail's link on any device (this page notices by asking every few seconds).
 */
const codeForm = document.getElementById('signup-code-form') as HTMLFormElement | null;
const codeInput = document.getElementById('signup-code') as HTMLInputElement | null;
let pending: { email: string; displayName: string; verificationId: string; proved: boolean } | undefined;
let polling: ReturnType<typeof setInterval> | undefined;

async function sendCode(email: string, displayName: string): Promise<void> {
  const sent = await post<{ verificationId: string; email: string; expiresInMinutes: number; replacesUnconfirmedAccount: boolean }>('/signup/email', { email, displayName });
  pending = { email, displayName, verificationId: sent.verificationId, proved: false };
  signupForm!.hidden = true;
  codeForm!.hidden = false;
  $('signup-code-sent').textContent = `We sent a code to ${sent.email}. Enter it here within ${sent.expiresInMinutes} minutes, or open the link in the mail on any device.`;
  $('signup-code-replaces').hidden = !sent.replacesUnconfirmedAccount;
  $('signup-code-submit').textContent = 'Confirm and create a passkey';
  codeInput!.hidden = false;
  codeInput!.value = '';
  clearFieldError(codeInput!);
  codeInput!.focus();
  clearInterval(polling);
  polling = setInterval(() => void checkProved(sent.verificationId), 3000);
}

async function checkProved(verificationId: string): Promise<void> {
  if (!pending || pending.verificationId !== verificationId || pending.proved) return;
  const response = await fetch(`${config.base}/signup/email/${encodeURIComponent(verificationId)}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (response.ok && (await response.json()).verified) markProved('Your address is confirmed. Create your passkey now.');
}

function markProved(message: string): void {
  if (!pending) return;
  pending.proved = true;
  clearInterval(polling);
  clearFieldError(codeInput!);
  codeInput!.hidden = true;
  document.querySelector<HTMLLabelElement>('label[for="signup-code"]')!.hidden = true;
  $('signup-code-sent').textContent = message;
  $('signup-code-submit').textContent = 'Create a passkey';
  $('signup-code-submit').focus();
}

async function confirmCodeAndSignUp(): Promise<void> {
  if (!pending) return;
  if (!pending.proved) {
    const code = codeInput!.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      fieldError(codeInput!, 'Enter the 6 digits from the mail.', true);
      return;
    }
    await post('/signup/code', { verificationId: pending.verificationId, code });
    markProved('Your address is confirmed.');
  }
  await signUp(pending.email, pending.displayName, pending.verificationId);
}

function backToAddress(): void {
  pending = undefined;
  clearInterval(polling);
  codeForm!.hidden = true;
  document.querySelector<HTMLLabelElement>('label[for="signup-code"]')!.hidden = false;
  signupForm!.hidden = false;
  signupEmail!.focus();
}

/** One confirmation step after sign-up: where the passkey is, a phone to add, and one way on. */
function confirmSignUp(redirectTo: string, savedIn: 'device' | 'password_manager'): void {
  show('');
  signupView.hidden = true;
  signinView.hidden = true;
  $('signed-up-where').textContent = savedIn === 'password_manager'
    ? 'Your passkey is saved in your password manager, so your other devices signed in to it can use it too.'
    : 'Your passkey is saved on this device. To sign in elsewhere, use your phone or add a passkey there.';
  const addPhone = $<HTMLAnchorElement>('add-phone');
  addPhone.href = config.phoneSetupUrl;
  addPhone.target = '_blank';
  addPhone.textContent = 'Add a phone (opens in a new tab)';
  const next = $<HTMLAnchorElement>('signed-up-continue');
  next.href = redirectTo;
  next.textContent = `Continue to ${config.clientName}`;
  $('signed-up').hidden = false;
  $('signed-up-heading').focus();
}

function openSignUp(email = ''): void {
  signinView.hidden = true;
  signupView.hidden = false;
  if (email && signupEmail && !signupEmail.value) signupEmail.value = email;
  $('signup-heading').focus();
}

function signInInstead(email: string): void {
  if (email) signinEmail.value = email;
  if (signupEmail) clearFieldError(signupEmail);
  showSignIn(signinForm.querySelector('button')!);
}

function rejectEmail(input: HTMLInputElement, required: boolean): boolean {
  const value = input.value.trim();
  const problem = !value && required ? 'Enter your e-mail address.' : emailProblem(value);
  if (problem) fieldError(input, problem, true);
  return Boolean(problem);
}

async function startAutofill(): Promise<void> {
  if (!(await browserSupportsWebAuthnAutofill())) return;
  // Runs in the background until the person picks a passkey from the e-mail field's suggestions.
  // Until they pick one they asked for nothing, so a failure (no passkey here, cancelled) stays
  // silent; once they picked one, what went wrong is said at the field, never left on "Checking…".
  signIn(undefined, true).catch((error) => {
    const explained: Explained | undefined = error?.explained;
    if (explained?.cause === 'expired' || error?.code === 'interaction_expired') expire();
    else if (error?.picked && explained) {
      show('');
      report(signinEmail, explained);
    }
  });
}

function onError(input: HTMLInputElement) {
  return (error: unknown) => report(input, (error as { explained?: Explained }).explained ?? explainSignIn(error, { elapsedMs: 0 }));
}

// A phone cannot scan a code shown on its own screen; the server decides by the User-Agent, this covers the rest.
if (qrButton && (navigator as { userAgentData?: { mobile?: boolean } }).userAgentData?.mobile) {
  qrButton.remove();
  if (pushButton.hidden) otherWays.hidden = true;
}

setTimeout(() => expire(), config.expiresInMs);

if (!browserSupportsWebAuthn()) {
  show('This browser does not support passkeys. Use an up-to-date browser, or sign in from your phone.', 'error');
} else {
  signinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldError(signinEmail);
    if (rejectEmail(signinEmail, false)) return;
    const email = signinEmail.value.trim() || undefined;
    WebAuthnAbortService.cancelCeremony();
    guard(signinForm.querySelector('button'), () => signIn(email), onError(signinEmail));
  });
  if (signupForm && signupEmail && signupName) signupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldError(signupEmail);
    clearFieldError(signupName);
    if (rejectEmail(signupEmail, true)) return;
    const displayName = signupName.value.trim();
    if (!displayName) {
      fieldError(signupName, 'Enter your name: it is how the application greets you.', true);
      return;
    }
    WebAuthnAbortService.cancelCeremony();
    const email = signupEmail.value.trim();
    guard(signupForm.querySelector('button'), () => (config.verifyEmail ? sendCode(email, displayName) : signUp(email, displayName)),
      (error) => report(signupEmail, explainSignIn(error, { elapsedMs: 0 })));
  });
  codeForm?.addEventListener('submit', (event) => {
    event.preventDefault();
    clearFieldError(codeInput!);
    guard($<HTMLButtonElement>('signup-code-submit'), confirmCodeAndSignUp, (error) => {
      const explained = explainSignIn(error, { elapsedMs: 0 });
      if (explained.cause === 'aborted') return;
      if (explained.cause === 'expired') return expire(explained.message);
      const wrongCode = ['code_wrong', 'code_locked', 'code_expired', 'code_used'].includes(explained.code ?? '');
      // The box under the code field also holds a failed passkey step's message once the field is gone.
      fieldError(codeInput!, explained.message, wrongCode && !codeInput!.hidden);
    });
  });
  document.getElementById('signup-code-resend')?.addEventListener('click', (event) => {
    if (!pending) return;
    const { email, displayName } = pending;
    guard(event.currentTarget as HTMLButtonElement, () => sendCode(email, displayName), (error) => fieldError(codeInput!, explainSignIn(error, { elapsedMs: 0 }).message, false));
  });
  document.getElementById('signup-code-back')?.addEventListener('click', backToAddress);
  document.getElementById('show-signup')?.addEventListener('click', () => openSignUp(signinEmail.value.trim()));
  $('show-signin').addEventListener('click', () => showSignIn());
  const onPhoneError = (error: unknown) => report(signinEmail, explainSignIn(error, { elapsedMs: 0 }));
  const crossDeviceDone = (opener: HTMLElement) => () => { signinView.hidden = false; opener.focus(); };
  qrButton?.addEventListener('click', () => {
    const email = signinEmail.value.trim() || undefined;
    WebAuthnAbortService.cancelCeremony();
    guard(qrButton, () => startCrossDevice({ push: false, email, offerQr: true, onShow: () => { signinView.hidden = true; }, onClose: crossDeviceDone(qrButton), onExpired: expire }), onPhoneError);
  });
  pushButton.addEventListener('click', () => {
    clearFieldError(signinEmail);
    if (rejectEmail(signinEmail, true)) return;
    WebAuthnAbortService.cancelCeremony();
    guard(pushButton, () => startCrossDevice({ push: true, email: signinEmail.value.trim(), offerQr: Boolean(qrButton), onShow: () => { signinView.hidden = true; }, onClose: crossDeviceDone(pushButton), onExpired: expire }), onPhoneError);
  });
  setupRecovery(signinView, signinEmail, () => expire());
  void startAutofill();
  // Back on this page from the back/forward cache: the ceremony it was in may be over, and its
  // challenge spent; autofill starts again with new options (or finds the sign-in over, and says so).
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted || expired) return;
    inlineCeremony = undefined;
    WebAuthnAbortService.cancelCeremony();
    void startAutofill();
  });
}
