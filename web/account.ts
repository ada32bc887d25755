import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { guard, post, show, type Ceremony } from './page.js';
import './account-email.js';

/** The account page: sign in with a passkey, add one on this device, remove one, sign out. */
/** The browser's time zone, so that security mails show local times. */
const timeZone = (): string | undefined => Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
const go = ({ redirectTo }: { redirectTo: string }) => window.location.assign(redirectTo);

document.getElementById('account-signin')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const { challengeId, options } = await post<Ceremony>('/signin/options', {});
    const response = await startAuthentication({ optionsJSON: options });
    show('Checking your passkey…');
    go(await post('/signin/verify', { challengeId, response, timeZone: timeZone() }));
  });
});

document.getElementById('add-passkey')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const { challengeId, options } = await post<Ceremony>('/passkeys/options', {});
    const response = await startRegistration({ optionsJSON: options });
    show('Saving your new passkey…');
    go(await post('/passkeys/verify', { challengeId, response, timeZone: timeZone() }));
  });
});

for (const button of document.querySelectorAll<HTMLButtonElement>('.remove-passkey')) {
  button.addEventListener('click', () => {
    guard(button, async () => go(await post('/passkeys/remove', { credentialId: button.dataset.credentialId, timeZone: timeZone() })));
  });
}

document.getElementById('account-signout')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => go(await post('/signout', {})));
});

document.getElementById('enrol-phone')?.addEventListener('click', (event) => {
  guard(event.currentTarget as HTMLButtonElement, async () => {
    const { link, qrSvg } = await post<{ link: string; qrSvg: string }>('/passport/link', {});
    (document.getElementById('enrolment-qr') as HTMLImageElement).src = `data:image/svg+xml;base64,${btoa(qrSvg)}`;
    const anchor = document.getElementById('enrolment-link') as HTMLAnchorElement;
    anchor.href = link;
    anchor.textContent = link;
    document.getElementById('enrolment')!.hidden = false;
  });
});

for (const button of document.querySelectorAll<HTMLButtonElement>('.remove-device')) {
  button.addEventListener('click', () => {
    guard(button, async () => go(await post('/passport/remove', { deviceId: button.dataset.deviceId })));
  });
}
