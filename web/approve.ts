import { startAuthentication } from '@simplewebauthn/browser';
import { guard, post, show, type Ceremony } from './page.js';

/** The phone's approval page: pick the number, prove it with a passkey on this phone, or deny. */
const decide = document.getElementById('decide');

// The server only knows UTC; the phone knows its own time zone.
const askedAt = document.getElementById('asked-at');
if (askedAt) {
  askedAt.textContent = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' })
    .format(new Date(askedAt.getAttribute('datetime')!));
}

function finish(message: string): void {
  decide?.remove();
  show(message);
}

for (const button of document.querySelectorAll<HTMLButtonElement>('.choice')) {
  button.addEventListener('click', () => {
    guard(button, async () => {
      const { challengeId, options } = await post<Ceremony>('/choose', { number: Number(button.dataset.number) }).catch((error) => {
        if (/not the number/.test((error as Error).message)) decide?.remove();
        throw error;
      });
      const response = await startAuthentication({ optionsJSON: options });
      show('Checking your passkey…');
      const result = await post<{ message: string }>('/approve', { challengeId, response });
      finish(result.message);
    });
  });
}

document.getElementById('deny')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const result = await post<{ message: string }>('/deny', {});
    finish(result.message);
  });
});
