import { startAuthentication } from '@simplewebauthn/browser';
import { ApiError, config, guard, post, show, type Ceremony } from './page.js';

/** The phone's approval page: pick the number, prove it with a passkey on this phone, or deny. */
const approveConfig = config as typeof config & { account: string | null; tenantName: string };
const decide = document.getElementById('decide');

// The server only knows UTC; the phone knows its own time zone.
const askedAt = document.getElementById('asked-at');
if (askedAt) {
  askedAt.textContent = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' })
    .format(new Date(askedAt.getAttribute('datetime')!));
}

function finish(message: string, kind: 'info' | 'error' = 'info'): void {
  decide?.remove();
  show(message, kind);
}

/**
 * The prompt ended without a passkey. Browsers say NotAllowedError both when the phone has no passkey
 * for the account and when the person closed the prompt; either way this phone did not approve, so
 * the computer is told at once instead of waiting two minutes, and the person learns the way on.
 */
async function noPasskey(): Promise<void> {
  const account = approveConfig.account ?? `your ${approveConfig.tenantName} account`;
  await post('/fail', { reason: 'no_passkey_on_phone' }).catch(() => undefined);
  finish(`This phone has no passkey for ${account}. Use a phone where you have one, or sign in on the computer. (If you closed the passkey prompt by mistake, start again on the computer.)`, 'error');
}

/** What went wrong, by cause: the server's answer, the passkey prompt, or the network. */
function explainApproval(error: unknown): string {
  if (error instanceof ApiError) {
    // The request is over (answered, wrong number, expired): nothing here can be pressed again.
    if (error.status === 409 || error.status === 410 || error.code === 'wrong_number') decide?.remove();
    return error.message;
  }
  const name = (error as { name?: string }).name;
  if (name === 'SecurityError') return 'This browser does not allow passkeys on this address. Open the link from the QR code again.';
  if (name === 'TypeError') return 'Sesame could not be reached. Check this phone\'s connection and pick the number again.';
  return (error as Error).message || 'Something went wrong. Pick the number again.';
}

for (const button of document.querySelectorAll<HTMLButtonElement>('.choice')) {
  button.addEventListener('click', () => {
    guard(button, async () => {
      const { challengeId, options } = await post<Ceremony>('/choose', { number: Number(button.dataset.number) });
      const started = Date.now();
      let response;
      try {
        response = await startAuthentication({ optionsJSON: options });
      } catch (error) {
        const name = (error as { name?: string }).name;
        // A prompt that ran its whole time timed out: the person may still approve, so the request stays open.
        if (name === 'NotAllowedError' && options.timeout && Date.now() - started >= options.timeout - 1000) {
          throw new Error('The passkey prompt timed out. Pick the number again to try once more.');
        }
        if (name === 'NotAllowedError') return noPasskey();
        throw error;
      }
      show('Checking your passkey…');
      const result = await post<{ message: string }>('/approve', { challengeId, response });
      finish(result.message);
    }, (error) => show(explainApproval(error), 'error'));
  });
}

document.getElementById('deny')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const result = await post<{ message: string }>('/deny', {});
    finish(result.message);
  }, (error) => show(explainApproval(error), 'error'));
});
