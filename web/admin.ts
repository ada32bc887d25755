import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { showLocalTimes } from './local-time.js';

/**
 * The console's browser code: the passkey ceremonies of signing in and of an enrolment link, the
 * logo picker of the settings page, and local times. Everything else in the console is plain forms.
 */
const status = document.getElementById('status');

function show(message: string, kind: 'info' | 'error' = 'info'): void {
  if (!status) return;
  status.textContent = message;
  status.className = `status ${kind}`;
}

function explain(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'NotAllowedError' || name === 'AbortError') return 'The passkey request was cancelled or timed out. You can try again.';
  if (name === 'InvalidStateError') return 'This device already has a console passkey for this account. Sign in with it instead.';
  if (name === 'SecurityError') return 'Passkeys are not allowed on this address. Open the page over https.';
  return (error as Error).message || 'Something went wrong. Please try again.';
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message ?? 'Something went wrong. Please try again.');
  return data as T;
}

/** Runs a button's task once at a time; the button keeps the focus (aria-busy, not disabled). */
function onClick(button: HTMLElement | null, task: () => Promise<void>): void {
  button?.addEventListener('click', () => {
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    task().catch((error) => show(explain(error), 'error')).finally(() => button.removeAttribute('aria-busy'));
  });
}

type Ceremony = { challengeId: string; options: any };

const configBlock = document.getElementById('sesame-config');
const config = configBlock ? JSON.parse(configBlock.textContent ?? '{}') as { next?: string | null } : {};

onClick(document.getElementById('admin-signin'), async () => {
  const { challengeId, options } = await post<Ceremony>('/admin/signin/options', {});
  const response = await startAuthentication({ optionsJSON: options });
  show('Checking your passkey…');
  const { redirectTo } = await post<{ redirectTo: string }>('/admin/signin/verify', { challengeId, response, next: config.next ?? undefined });
  window.location.assign(redirectTo);
});

const enrolButton = document.getElementById('admin-enrol');
if (enrolButton) {
  // The link's token is in the fragment, which the browser never sends; it is taken off the address bar at once.
  const token = window.location.hash.slice(1);
  history.replaceState(null, '', window.location.pathname);
  type Enrolment = Ceremony & { email: string; kind: string; tenantId?: string; tenantName?: string };
  let started: { at: number; enrolment: Enrolment } | undefined;
  const load = async () => {
    const enrolment = await post<Enrolment>('/admin/enrol/options', { token });
    started = { at: Date.now(), enrolment };
    return enrolment;
  };
  const loading = document.getElementById('enrol-loading')!;
  load().then((enrolment) => {
    loading.hidden = true;
    document.getElementById('enrol-email')!.textContent = enrolment.email;
    document.getElementById('enrol-tenant')!.textContent = enrolment.tenantName
      ? `${enrolment.tenantName}${enrolment.tenantId ? ` (${enrolment.tenantId})` : ''}` : 'Every tenant (operator administrator)';
    document.getElementById('enrol-what')!.textContent = enrolment.kind === 'new-tenant'
      ? `Your address is confirmed. Create the passkey that opens the console of ${enrolment.tenantName}; the tenant is set up when you do.`
      : `You are invited to administer ${enrolment.tenantName ?? 'Sesame'}. Create the passkey that opens the console.`;
    document.getElementById('enrol-details')!.hidden = false;
    enrolButton.hidden = false;
    enrolButton.focus();
  }, (error) => {
    loading.hidden = true;
    show(explain(error), 'error');
  });
  onClick(enrolButton, async () => {
    // A challenge lives five minutes: a page left open longer asks for a fresh one.
    const { enrolment } = started && Date.now() - started.at < 4 * 60_000 ? started : { enrolment: await load() };
    const response = await startRegistration({ optionsJSON: enrolment.options });
    show('Saving your passkey…');
    const { redirectTo } = await post<{ redirectTo: string }>('/admin/enrol/verify', { token, challengeId: enrolment.challengeId, response });
    window.location.assign(redirectTo);
  });
}

// Settings: the chosen logo file travels as a data: URL in the form (the body limit is far above 64 KB).
const logoFile = document.getElementById('logo-file') as HTMLInputElement | null;
const logoData = document.getElementById('logo-data') as HTMLInputElement | null;
logoFile?.addEventListener('change', () => {
  const file = logoFile.files?.[0];
  if (!file || !logoData) return;
  const reader = new FileReader();
  reader.addEventListener('load', () => { logoData.value = String(reader.result); });
  reader.readAsDataURL(file);
});

showLocalTimes();
