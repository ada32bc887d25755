import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { config, post, show, type Ceremony } from './page.js';
import { whileBusy } from './busy.js';
import { showLocalTimes } from './local-time.js';
import { signalAccount, signalRemoved, type AccountSignals } from './webauthn-signals.js';
import './account-recovery-codes.js';
import './account-email.js';

/** The account page: sign in with a passkey; name, add and remove passkeys; set up a phone; sign out. */
const signals = (config as unknown as { signals?: AccountSignals }).signals;
/** The browser's time zone, so that security mails show local times. */
const timeZone = (): string | undefined => Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
const go = ({ redirectTo }: { redirectTo: string }) => window.location.assign(redirectTo);
const status = document.getElementById('status')!;

/** Says what happened and takes keyboard focus there, when the control that had it goes away. */
function announce(message: string): void {
  show(message);
  status.focus();
}

showLocalTimes();
if (signals) signalAccount(signals);

const onClick = (id: string, task: () => Promise<void>) => {
  const button = document.getElementById(id) as HTMLButtonElement | null;
  button?.addEventListener('click', () => whileBusy(button, task));
};

onClick('account-signin', async () => {
  const { challengeId, options } = await post<Ceremony>('/signin/options', {});
  const response = await startAuthentication({ optionsJSON: options });
  show('Checking your passkey…');
  go(await post('/signin/verify', { challengeId, response, timeZone: timeZone() }));
});

onClick('add-passkey', async () => {
  const { challengeId, options } = await post<Ceremony>('/passkeys/options', {});
  const response = await startRegistration({ optionsJSON: options });
  show('Saving your new passkey…');
  go(await post('/passkeys/verify', { challengeId, response, timeZone: timeZone() }));
});

onClick('account-signout', async () => go(await post('/signout', {})));

onClick('enrol-phone', async () => {
  const { link, qrSvg } = await post<{ link: string; qrSvg: string }>('/passport/link', {});
  (document.getElementById('enrolment-qr') as HTMLImageElement).src = `data:image/svg+xml;base64,${btoa(qrSvg)}`;
  const anchor = document.getElementById('enrolment-link') as HTMLAnchorElement;
  anchor.href = link;
  anchor.textContent = link;
  document.getElementById('enrolment')!.hidden = false;
});

for (const button of document.querySelectorAll<HTMLButtonElement>('.remove-device')) {
  button.addEventListener('click', () => whileBusy(button, async () => go(await post('/passport/remove', { deviceId: button.dataset.deviceId }))));
}

/** Shows a passkey's name everywhere its row says it (the heading and the buttons' spoken names). */
function showName(row: HTMLElement, name: string): void {
  row.querySelector('.passkey-name')!.textContent = name;
  for (const hidden of row.querySelectorAll('.visually-hidden')) hidden.textContent = ` ${name}`;
}

for (const form of document.querySelectorAll<HTMLFormElement>('.rename-form')) {
  const row = form.closest<HTMLElement>('.passkey')!;
  const details = form.closest('details')!;
  const input = form.elements.namedItem('name') as HTMLInputElement;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    whileBusy(form.querySelector('button')!, async () => {
      const { name } = await post<{ name: string }>('/passkeys/rename', { credentialId: form.dataset.credentialId, name: input.value });
      showName(row, name);
      input.value = name;
      details.open = false;
      details.querySelector('summary')!.focus();
      show(`Renamed to “${name}”.`);
    });
  });
}

const dialog = document.getElementById('confirm-remove') as HTMLDialogElement | null;

/** Asks before removing: a removed passkey cannot be brought back, and its sign-ins end with it. */
function confirmRemoval(row: HTMLElement): Promise<boolean> {
  document.getElementById('confirm-remove-name')!.textContent = row.querySelector('.passkey-name')!.textContent;
  document.getElementById('confirm-remove-this-device')!.hidden = !row.querySelector('.badge');
  dialog!.returnValue = '';
  dialog!.showModal();
  return new Promise((resolve) => dialog!.addEventListener('close', () => resolve(dialog!.returnValue === 'remove'), { once: true }));
}

for (const button of document.querySelectorAll<HTMLButtonElement>('.remove-passkey')) {
  const row = button.closest<HTMLElement>('.passkey')!;
  button.addEventListener('click', () => whileBusy(button, async () => {
    if (!await confirmRemoval(row)) {
      button.focus();
      return;
    }
    const credentialId = button.dataset.credentialId!;
    const name = row.querySelector('.passkey-name')!.textContent;
    show(`Removing “${name}”…`);
    await post('/passkeys/remove', { credentialId, timeZone: timeZone() });
    if (signals) signalRemoved(signals.rpId, credentialId);
    row.remove();
    const remaining = document.querySelectorAll<HTMLElement>('#passkeys .passkey');
    if (remaining.length === 1) {
      remaining[0].querySelector<HTMLButtonElement>('.remove-passkey')!.disabled = true;
      remaining[0].querySelector<HTMLElement>('.last-passkey')!.hidden = false;
    }
    announce(`Removed “${name}”. It can no longer sign in to your account.`);
  }));
}
