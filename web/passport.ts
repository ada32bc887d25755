import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { config, guard, post, show, type Ceremony } from './page.js';

/**
 * The Passport PWA on the phone: enrol (with the one-time link from the desktop account page, or a
 * passkey already on this phone), subscribe to Web Push, and list sign-in requests waiting here.
 * The device token lives in this phone's localStorage only.
 */
interface Enrolment { deviceId: string; deviceToken: string; name: string }

const passportConfig = config as typeof config & { tenant: string; tenantName: string };
const storageKey = `sesame-passport:${passportConfig.tenant}`;
const $ = (id: string) => document.getElementById(id)!;

const load = (): Enrolment | undefined => {
  try {
    return JSON.parse(localStorage.getItem(storageKey) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
};

async function api<T>(path: string, enrolment: Enrolment, body?: unknown): Promise<T> {
  const response = await fetch(`${config.base}/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${enrolment.deviceToken}`, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message ?? 'Something went wrong. Please try again.');
  return data as T;
}

async function pushSubscription(): Promise<PushSubscriptionJSON | undefined> {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) return undefined;
  const registration = await navigator.serviceWorker.register(`${config.base}/sw.js`, { scope: `${config.base}/` });
  if ((await Notification.requestPermission()) !== 'granted') return undefined;
  const { publicKey } = await (await fetch(`${config.base}/api/vapid`)).json();
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey });
  return subscription.toJSON();
}

async function enrolWith(path: 'token' | 'passkey', token?: string): Promise<void> {
  const name = ($('device-name') as HTMLInputElement).value.trim() || 'My phone';
  const { challengeId, options } = await post<Ceremony>(`/api/enrol/${path}/options`, token ? { token } : {});
  const response = path === 'token' ? await startRegistration({ optionsJSON: options }) : await startAuthentication({ optionsJSON: options });
  const subscription = await pushSubscription().catch(() => undefined);
  const enrolled = await post<{ deviceId: string; deviceToken: string }>(`/api/enrol/${path}`, { token, challengeId, response, name, pushSubscription: subscription });
  localStorage.setItem(storageKey, JSON.stringify({ ...enrolled, name }));
  history.replaceState(null, '', location.pathname);
  show(subscription ? 'This phone is set up. Sign-in requests will arrive as notifications.' : 'This phone is set up. Turn on notifications to get sign-in requests.');
  render();
}

async function refreshRequests(enrolment: Enrolment): Promise<void> {
  const { requests } = await api<{ requests: Array<{ id: string; clientName: string; browser: string; os: string }> }>('/requests', enrolment);
  const list = $('requests');
  list.replaceChildren();
  if (requests.length === 0) {
    const item = document.createElement('li');
    item.className = 'muted';
    item.textContent = 'No sign-in requests right now.';
    list.append(item);
  }
  for (const request of requests) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `/${passportConfig.tenant}/x/${request.id}`;
    link.textContent = `${request.clientName} — ${request.browser} on ${request.os}`;
    item.append(link);
    list.append(item);
  }
}

function render(): void {
  const enrolment = load();
  $('enrol').hidden = Boolean(enrolment);
  $('enrolled').hidden = !enrolment;
  if (!enrolment) {
    const token = /(?:^|[#&])enrol=([A-Za-z0-9_-]+)/.exec(location.hash)?.[1];
    const tokenButton = $('enrol-token') as HTMLButtonElement;
    tokenButton.hidden = !token;
    tokenButton.onclick = () => guard(tokenButton, () => enrolWith('token', token));
    const passkeyButton = $('enrol-passkey') as HTMLButtonElement;
    passkeyButton.onclick = () => guard(passkeyButton, () => enrolWith('passkey'));
    return;
  }
  $('enrolled-name').textContent = enrolment.name;
  void api<{ push: boolean }>('/device', enrolment).then((device) => {
    $('push-state').textContent = device.push ? 'Notifications are on.' : 'Notifications are off.';
    const enable = $('push-enable') as HTMLButtonElement;
    enable.hidden = device.push;
    enable.onclick = () => guard(enable, async () => {
      const subscription = await pushSubscription();
      if (!subscription) throw new Error('Notifications are blocked for this site. Allow them in the browser settings and try again.');
      await api('/device/push', enrolment, { subscription });
      render();
    });
  }).catch((error) => {
    show((error as Error).message, 'error');
    localStorage.removeItem(storageKey);
    render();
  });
  void refreshRequests(enrolment).catch(() => undefined);
  const forget = $('forget') as HTMLButtonElement;
  forget.onclick = () => guard(forget, async () => {
    await api('/device/remove', enrolment, {}).catch(() => undefined);
    localStorage.removeItem(storageKey);
    show('This phone was removed from Passport.');
    render();
  });
}

render();
setInterval(() => {
  const enrolment = load();
  if (enrolment && document.visibilityState === 'visible') void refreshRequests(enrolment).catch(() => undefined);
}, 5000);
