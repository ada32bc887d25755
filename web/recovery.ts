import { startRegistration } from '@simplewebauthn/browser';
import { guard, post, show, type Ceremony } from './page.js';

/**
 * The recovery page, one step at a time: redeem an administrator's link (its token is in the
 * fragment, never sent in a URL), save a new passkey on this device, then remove old passkeys.
 */
const go = ({ redirectTo }: { redirectTo: string }) => window.location.assign(redirectTo);
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

document.getElementById('recovery-start')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
    go(await post('/link', { token, timeZone }));
  });
});

document.getElementById('recovery-add-passkey')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const { challengeId, options } = await post<Ceremony>('/passkey/options', {});
    const response = await startRegistration({ optionsJSON: options });
    show('Saving your new passkey…');
    go(await post('/passkey/verify', { challengeId, response }));
  });
});

const cleanup = document.getElementById('recovery-cleanup') as HTMLFormElement | null;
const boxes = () => [...document.querySelectorAll<HTMLInputElement>('input[name="remove"]')];
const finish = (button: HTMLButtonElement | null, remove: string[]) => guard(button, async () => {
  show(remove.length ? 'Removing the old passkeys…' : 'Finishing…');
  go(await post('/finish', { remove }));
});
cleanup?.addEventListener('submit', (event) => {
  event.preventDefault();
  finish(cleanup.querySelector('button[type="submit"]'), boxes().filter((b) => b.checked).map((b) => b.value));
});
document.getElementById('recovery-remove-all')?.addEventListener('click', (event) => {
  for (const box of boxes()) box.checked = true;
  finish(event.currentTarget as HTMLButtonElement, boxes().map((b) => b.value));
});
