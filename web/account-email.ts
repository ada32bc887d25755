import { guard, post } from './page.js';

/**
 * The account page's e-mail section: confirm the address the account has, or change it. Either way
 * a code goes to the address, and the account uses it (as confirmed) only once the code proved it.
 */
const newForm = document.getElementById('email-new-form') as HTMLFormElement | null;
const codeForm = document.getElementById('email-code-form') as HTMLFormElement | null;
let verificationId: string | undefined;

async function sendCode(email?: string): Promise<void> {
  const sent = await post<{ verificationId: string; email: string; expiresInMinutes: number }>('/email/send', email ? { email } : {});
  verificationId = sent.verificationId;
  newForm!.hidden = true;
  codeForm!.hidden = false;
  document.getElementById('email-code-sent')!.textContent = `We sent a code to ${sent.email}. Enter it here within ${sent.expiresInMinutes} minutes, or open the link in the mail.`;
  document.getElementById('email-code')!.focus();
}

document.getElementById('verify-email')?.addEventListener('click', (event) => guard(event.currentTarget as HTMLButtonElement, () => sendCode()));

document.getElementById('change-email')?.addEventListener('click', () => {
  codeForm!.hidden = true;
  newForm!.hidden = false;
  document.getElementById('email-new')!.focus();
});

newForm?.addEventListener('submit', (event) => {
  event.preventDefault();
  guard(newForm.querySelector('button'), () => sendCode((document.getElementById('email-new') as HTMLInputElement).value.trim()));
});

codeForm?.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = (document.getElementById('email-code') as HTMLInputElement).value;
  guard(codeForm.querySelector('button'), async () => {
    const { redirectTo } = await post<{ redirectTo: string }>('/email/code', { verificationId, code });
    window.location.assign(redirectTo);
  });
});
