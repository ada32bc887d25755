import { ApiError, guard, post, show } from './page.js';
import { emailProblem } from './signin-errors.js';

/**
 * "Lost your passkey?" on the sign-in page: an e-mailed code (or, instead, one of the person's
 * recovery codes) opens the recovery page, where a new passkey is saved before anything else.
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function fieldError(input: HTMLInputElement, message: string): void {
  const box = $(`${input.id}-error`);
  box.textContent = message;
  box.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', box.id);
  input.focus();
}

function clearErrors(form: HTMLFormElement): void {
  for (const input of form.querySelectorAll('input')) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
  for (const box of form.querySelectorAll<HTMLElement>('.field-error')) box.hidden = true;
}

let onExpired: () => void = () => {};

/** Puts an answer of the server at the field it is about; anything else goes to the status line. */
function reportAt(input: HTMLInputElement) {
  return (error: unknown) => {
    if (error instanceof ApiError && error.code === 'interaction_expired') onExpired();
    else if (error instanceof ApiError && (error.status === 400 || error.status === 403)) fieldError(input, error.message);
    else show(error instanceof Error && error.message ? error.message : 'Something went wrong. Please try again.', 'error');
  };
}

function emailOf(input: HTMLInputElement): string | undefined {
  const value = input.value.trim();
  const problem = value ? emailProblem(value) : 'Enter your e-mail address.';
  if (problem) {
    fieldError(input, problem);
    return undefined;
  }
  return value;
}

export function setupRecovery(signinView: HTMLElement, signinEmail: HTMLInputElement, expire: () => void): void {
  onExpired = expire;
  const view = $('recovery-view');
  const emailForm = document.getElementById('recovery-email-form') as HTMLFormElement | null;
  const codeForm = document.getElementById('recovery-code-form') as HTMLFormElement | null;
  const backupForm = $<HTMLFormElement>('backup-form');
  const recoveryEmail = document.getElementById('recovery-email') as HTMLInputElement | null;
  const go = ({ redirectTo }: { redirectTo: string }) => window.location.assign(redirectTo);

  $('show-recovery').addEventListener('click', () => {
    show('');
    signinView.hidden = true;
    view.hidden = false;
    const email = signinEmail.value.trim();
    if (recoveryEmail && !recoveryEmail.value) recoveryEmail.value = email;
    if (!$<HTMLInputElement>('backup-email').value) $<HTMLInputElement>('backup-email').value = email;
    $('recovery-heading').focus();
  });
  $('recovery-back').addEventListener('click', () => {
    view.hidden = true;
    signinView.hidden = false;
    $('show-recovery').focus();
  });

  const send = (button: HTMLButtonElement | null) => {
    const email = emailOf(recoveryEmail!);
    if (!email) return;
    guard(button, async () => {
      const { message } = await post<{ message: string }>('/recovery/email', { email });
      emailForm!.hidden = true;
      codeForm!.hidden = false;
      $('recovery-sent').textContent = `${message} Enter it here.`;
      $('recovery-code').focus();
    }, reportAt(recoveryEmail!));
  };
  emailForm?.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(emailForm);
    send(emailForm.querySelector('button[type="submit"]'));
  });
  $('recovery-resend')?.addEventListener('click', (event) => {
    codeForm!.hidden = true;
    emailForm!.hidden = false;
    send(event.currentTarget as HTMLButtonElement);
  });
  codeForm?.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(codeForm);
    const code = $<HTMLInputElement>('recovery-code');
    if (!code.value.trim()) return fieldError(code, 'Enter the code from the e-mail.');
    guard(codeForm.querySelector('button[type="submit"]'), async () => {
      go(await post('/recovery/email/verify', { email: recoveryEmail!.value.trim(), code: code.value, timeZone }));
    }, reportAt(code));
  });

  document.getElementById('use-backup-code')?.addEventListener('click', () => {
    emailForm!.hidden = true;
    codeForm!.hidden = true;
    $('use-backup-line').hidden = true;
    backupForm.hidden = false;
    $('backup-code').focus();
  });
  backupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(backupForm);
    const email = emailOf($('backup-email'));
    if (!email) return;
    const code = $<HTMLInputElement>('backup-code');
    if (!code.value.trim()) return fieldError(code, 'Enter one of your recovery codes.');
    guard(backupForm.querySelector('button[type="submit"]'), async () => {
      go(await post('/recovery/code', { email, code: code.value, timeZone }));
    }, reportAt(code));
  });
}
