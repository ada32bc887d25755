import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { config, explain, guard, post, show, type Ceremony } from './page.js';
import { explainCamera, requestLinkPath, scanQrCode } from './passport-scanner.js';

/**
 * The Passport PWA on the phone: enrol (with the one-time link from the desktop account page, or a
 * passkey already on this phone), subscribe to Web Push, list the sign-in requests waiting here
 * (polled while open, so they show up with notifications off too), and scan a sign-in code.
 * The device token lives in this phone's localStorage only.
 */
interface Enrolment { deviceId: string; deviceToken: string; name: string }
interface DeviceInfo { push: boolean; account: { email: string; name: string } }
interface WaitingRequest { id: string; tenant: string; clientName: string; browser: string; os: string; createdAt: string }

const passportConfig = config as typeof config & { tenant: string; tenantName: string };
const storageKey = `sesame-passport:${passportConfig.tenant}`;
/** While Passport is open and visible, waiting requests are fetched this often. */
const POLL_MS = 3000;
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

/** Web Push on iOS works only in a web app added to the Home Screen. */
const isIos = /iPhone|iPad|iPod/.test(navigator.userAgent) || (/Macintosh/.test(navigator.userAgent) && navigator.maxTouchPoints > 1);
const isInstalled = matchMedia('(display-mode: standalone)').matches || (navigator as { standalone?: boolean }).standalone === true;
const needsHomeScreen = isIos && !isInstalled;

const UNTIL_THEN = 'Until then, sign-in requests show up here while Passport is open.';
const BLOCKED = `Notifications are blocked for Passport. To get sign-in requests as notifications, allow them in the browser's settings for this site. ${UNTIL_THEN}`;

/** Why notifications could not be turned on; its message is for the person, by cause. */
class NotificationProblem extends Error {}

async function pushSubscription(): Promise<PushSubscriptionJSON> {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    throw new NotificationProblem(needsHomeScreen
      ? `Add Passport to your Home Screen first (Share, then "Add to Home Screen") and open it from there: only then can it show notifications. ${UNTIL_THEN}`
      : `This browser cannot show notifications for Passport. ${UNTIL_THEN}`);
  }
  const registration = await navigator.serviceWorker.register(`${config.base}/sw.js`, { scope: `${config.base}/` });
  const permission = await Notification.requestPermission();
  if (permission === 'denied') throw new NotificationProblem(BLOCKED);
  if (permission !== 'granted') throw new NotificationProblem(`Notifications were not turned on. Press the button again and choose "Allow". ${UNTIL_THEN}`);
  const { publicKey } = await (await fetch(`${config.base}/api/vapid`)).json();
  try {
    return (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey })).toJSON();
  } catch (error) {
    if ((error as { name?: string }).name === 'NotAllowedError') throw new NotificationProblem(BLOCKED);
    throw new NotificationProblem(`The browser's notification service did not answer. Try again in a while. ${UNTIL_THEN}`);
  }
}

/** Enrolment errors by cause: the passkey prompt, not notifications (those are optional here). */
function explainEnrolment(error: unknown, path: 'token' | 'passkey'): string {
  if (path === 'passkey' && (error as { name?: string }).name === 'NotAllowedError') {
    return `No passkey was used. If you closed the prompt, try again. If this phone has no passkey for ${passportConfig.tenantName}, set it up with the code from your computer ("Your passkeys" → "Set up a phone").`;
  }
  return explain(error);
}

async function enrolWith(path: 'token' | 'passkey', token?: string): Promise<void> {
  const name = ($('device-name') as HTMLInputElement).value.trim() || 'My phone';
  const { challengeId, options } = await post<Ceremony>(`/api/enrol/${path}/options`, token ? { token } : {});
  const response = path === 'token' ? await startRegistration({ optionsJSON: options }) : await startAuthentication({ optionsJSON: options });
  const subscription = await pushSubscription().catch(() => undefined);
  const enrolled = await post<{ deviceId: string; deviceToken: string }>(`/api/enrol/${path}`, { token, challengeId, response, name, pushSubscription: subscription });
  localStorage.setItem(storageKey, JSON.stringify({ ...enrolled, name }));
  history.replaceState(null, '', location.pathname);
  show(subscription ? 'This phone is set up. Sign-in requests will arrive as notifications.' : `This phone is set up. Turn on notifications to get sign-in requests. ${UNTIL_THEN}`);
  render();
}

async function refreshRequests(enrolment: Enrolment): Promise<void> {
  const { requests } = await api<{ requests: WaitingRequest[] }>('/requests', enrolment);
  const list = $('requests');
  list.replaceChildren();
  if (requests.length === 0) {
    const item = document.createElement('li');
    item.className = 'muted';
    item.textContent = 'No sign-in requests right now.';
    list.append(item);
  }
  const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  for (const request of requests) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = `/${request.tenant}/x/${request.id}`;
    link.textContent = `${request.clientName} — ${request.browser} on ${request.os}, asked at ${time.format(new Date(request.createdAt))}`;
    item.append(link);
    list.append(item);
  }
}

function showDevice(enrolment: Enrolment, device: DeviceInfo): void {
  const { name, email } = device.account;
  $('account').textContent = name && name !== email ? `For ${name} (${email})` : `For ${email}`;
  $('push-state').textContent = device.push
    ? 'Notifications are on.'
    : 'Notifications are off. Sign-in requests show up below while Passport is open.';
  const enable = $('push-enable') as HTMLButtonElement;
  enable.hidden = device.push;
  enable.onclick = () => guard(enable, async () => {
    const subscription = await pushSubscription();
    await api('/device/push', enrolment, { subscription });
    show('Notifications are on. Sign-in requests will arrive as notifications.');
    render();
  }, (error) => show(error instanceof NotificationProblem ? error.message : explain(error), 'error'));
}

function render(): void {
  const enrolment = load();
  $('enrol').hidden = Boolean(enrolment);
  $('enrolled').hidden = !enrolment;
  $('remove').hidden = !enrolment;
  if (!enrolment) {
    const token = /(?:^|[#&])enrol=([A-Za-z0-9_-]+)/.exec(location.hash)?.[1];
    const tokenButton = $('enrol-token') as HTMLButtonElement;
    tokenButton.hidden = !token;
    tokenButton.onclick = () => guard(tokenButton, () => enrolWith('token', token), (error) => show(explainEnrolment(error, 'token'), 'error'));
    const passkeyButton = $('enrol-passkey') as HTMLButtonElement;
    passkeyButton.onclick = () => guard(passkeyButton, () => enrolWith('passkey'), (error) => show(explainEnrolment(error, 'passkey'), 'error'));
    return;
  }
  $('enrolled-name').textContent = enrolment.name;
  void api<DeviceInfo>('/device', enrolment).then((device) => showDevice(enrolment, device)).catch((error) => {
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

/** Follows a scanned or pasted link, if it is a sign-in request of this Sesame; says why not otherwise. */
function openRequestLink(text: string): void {
  const input = $('request-link') as HTMLInputElement;
  const error = $('request-link-error');
  const path = requestLinkPath(text, location.origin);
  if (!path) {
    error.textContent = `This is not a sign-in code of ${passportConfig.tenantName}. Scan the code on your computer's sign-in page, after "Use my phone".`;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    return;
  }
  error.hidden = true;
  input.removeAttribute('aria-invalid');
  location.assign(path);
}

function setUpScanner(): void {
  const video = $('scanner-video') as HTMLVideoElement;
  const scan = $('scan') as HTMLButtonElement;
  const stopButton = $('scan-stop') as HTMLButtonElement;
  let stop: () => void = () => undefined;
  const reset = () => {
    stop();
    video.hidden = true;
    stopButton.hidden = true;
    scan.hidden = false;
  };
  scan.onclick = () => guard(scan, async () => {
    const scanning = await scanQrCode(video);
    stop = scanning.stop;
    video.style.width = '100%';
    video.hidden = false;
    stopButton.hidden = false;
    scan.hidden = true;
    stopButton.focus();
    const text = await scanning.text;
    reset();
    if (text) openRequestLink(text);
  }, (error) => {
    reset();
    show(explainCamera(error), 'error');
  });
  stopButton.onclick = () => {
    reset();
    scan.focus();
  };
  $('link-form').addEventListener('submit', (event) => {
    event.preventDefault();
    openRequestLink(($('request-link') as HTMLInputElement).value);
  });
}

$('ios-install').hidden = !needsHomeScreen;
setUpScanner();
render();
const poll = () => {
  const enrolment = load();
  if (enrolment && document.visibilityState === 'visible') void refreshRequests(enrolment).catch(() => undefined);
};
setInterval(poll, POLL_MS);
document.addEventListener('visibilitychange', poll);
