import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { guard, post, show, type Ceremony } from './page.js';

/** The account page: sign in with a passkey, add one on this device, remove one, sign out. */
const go = ({ redirectTo }: { redirectTo: string }) => window.location.assign(redirectTo);

document.getElementById('account-signin')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const { challengeId, options } = await post<Ceremony>('/signin/options', {});
    const response = await startAuthentication({ optionsJSON: options });
    show('Checking your passkey…');
    go(await post('/signin/verify', { challengeId, response }));
  });
});

document.getElementById('add-passkey')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const { challengeId, options } = await post<Ceremony>('/passkeys/options', {});
    const response = await startRegistration({ optionsJSON: options });
    show('Saving your new passkey…');
    go(await post('/passkeys/verify', { challengeId, response }));
  });
});

for (const button of document.querySelectorAll<HTMLButtonElement>('.remove-passkey')) {
  button.addEventListener('click', () => {
    guard(button, async () => go(await post('/passkeys/remove', { credentialId: button.dataset.credentialId })));
  });
}

document.getElementById('account-signout')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => go(await post('/signout', {})));
});
