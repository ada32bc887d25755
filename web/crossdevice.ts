import { ApiError, config, post } from './page.js';

/**
 * "Use my phone" on the desktop sign-in page: the panel takes the place of the other options and
 * shows the QR code (or says a push was sent), the number to pick and how long the code lasts; it
 * follows the request over Server-Sent Events (falling back to polling), renews an expired QR code
 * by itself, and completes the sign-in here once the phone approved.
 */
/** `inPassport`: the phone's Passport lists the request while it is open, even with notifications off. */
interface Started { id: string; kind: 'qr' | 'push'; delivered?: number; inPassport?: boolean; link: string; qrSvg: string; number: number; expiresInMs: number }
interface StatusView { id: string; status: string; reason?: string; message: string }
export interface CrossDeviceOptions {
  push: boolean;
  email: string | undefined;
  /** Whether this device may show a QR code (not on a phone). */
  offerQr: boolean;
  onShow: () => void;
  onClose: () => void;
  onExpired: (message: string) => void;
}

const TERMINAL = ['approved', 'denied', 'failed', 'cancelled', 'expired', 'completed'];
/** An unattended page stops renewing after this many codes (each one is a request on the server). */
const MAX_RENEWALS = 5;
const panel = document.getElementById('crossdevice') as HTMLElement;
const heading = document.getElementById('crossdevice-heading')!;
const image = document.getElementById('crossdevice-qr-image') as HTMLImageElement;
const numberEl = document.getElementById('crossdevice-number')!;
const countdown = document.getElementById('crossdevice-countdown')!;
const statusEl = document.getElementById('crossdevice-status')!;
const link = document.getElementById('crossdevice-link') as HTMLAnchorElement;
const linkLine = document.getElementById('crossdevice-link-line')!;
const instructions = document.getElementById('crossdevice-instructions')!;
const newCode = document.getElementById('crossdevice-new') as HTMLButtonElement;
const cancelButton = document.getElementById('crossdevice-cancel') as HTMLButtonElement;

let current: string | undefined;
let options: CrossDeviceOptions | undefined;
let renewals = 0;
/** After the phone had no passkey, a new code would not help: the button offers the other ways instead. */
let offerOtherWays = false;
let stop: () => void = () => undefined;
let stopCountdown: () => void = () => undefined;

export async function startCrossDevice(opts: CrossDeviceOptions, renewal = false): Promise<void> {
  await cancelCurrent();
  options = opts;
  if (!renewal) renewals = 0;
  let started: Started;
  try {
    started = await post<Started>('/crossdevice', { email: opts.email, push: opts.push });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'no_push_device') {
      throw new ApiError(opts.offerQr
        ? 'No phone is set up for sign-in requests on this account yet. Use "Use my phone" to scan a code with it instead.'
        : 'No phone is set up for sign-in requests on this account yet. Sign in with a passkey on this device instead.', error.code, error.status);
    }
    throw error;
  }
  current = started.id;
  const unreached = opts.push && started.delivered === 0;
  const showQr = opts.offerQr && (!opts.push || unreached);
  if (unreached && !showQr && !started.inPassport) {
    current = undefined;
    await post(`/crossdevice/${started.id}/cancel`, {}).catch(() => undefined);
    throw new Error('We could not reach your phone right now. Try again in a moment, or sign in with a passkey on this device.');
  }
  image.hidden = !showQr;
  linkLine.hidden = !showQr;
  image.src = `data:image/svg+xml;base64,${btoa(started.qrSvg)}`;
  instructions.textContent = !opts.push
    ? "Scan this code with your phone's camera or the Passport app."
    : unreached && started.inPassport
      ? (showQr ? 'Open Passport on your phone to approve, or scan this code with it.' : 'Open Passport on your phone to approve.')
      : unreached
        ? 'We could not reach your phone right now. Scan this code with it instead.'
        : 'We sent a request to your phone. Open the notification to approve.';
  numberEl.textContent = String(started.number);
  link.href = started.link;
  // The address without its scheme is shorter to read and type; the link itself keeps it.
  link.textContent = started.link.replace(/^https?:\/\//, '');
  newCode.hidden = true;
  newCode.textContent = 'New code';
  offerOtherWays = false;
  statusEl.textContent = 'Waiting for your phone…';
  startCountdown(started.expiresInMs, !opts.push);
  watch(started.id);
  const opening = panel.hidden;
  panel.hidden = false;
  opts.onShow();
  if (opening) heading.focus();
}

/** Ends whatever is shown (the page expired): no request stays open behind a dead page. */
export function stopCrossDevice(): void {
  void cancelCurrent();
}

function startCountdown(ms: number, renewsItself: boolean): void {
  stopCountdown();
  const deadline = Date.now() + ms;
  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = `${renewsItself ? 'A new code comes in' : 'This request ends in'} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    if (left === 0) {
      stopCountdown();
      hideStaleCode();
    }
  };
  tick();
  const timer = setInterval(tick, 1000);
  stopCountdown = () => clearInterval(timer);
}

/** An expired code must not stay on screen: a number or link that no longer works only misleads. */
function hideStaleCode(): void {
  image.hidden = true;
  linkLine.hidden = true;
  numberEl.textContent = '';
  countdown.textContent = '';
}

function watch(id: string): void {
  stop();
  let closed = false;
  const handle = (view: StatusView) => {
    if (closed || view.id !== current) return;
    if (!TERMINAL.includes(view.status)) {
      statusEl.textContent = view.message;
      return;
    }
    stop();
    stopCountdown();
    if (view.status === 'approved') return void complete(id);
    hideStaleCode();
    if (view.status === 'expired' && options && !options.push && renewals < MAX_RENEWALS) {
      renewals += 1;
      statusEl.textContent = 'Getting a new code…';
      startCrossDevice(options, true).catch(failed);
      return;
    }
    statusEl.textContent = view.message;
    offerOtherWays = view.reason === 'no_passkey_on_phone';
    newCode.textContent = offerOtherWays ? 'Try another way' : 'New code';
    newCode.hidden = false;
  };
  const poll = () => {
    const timer = setInterval(() => {
      fetch(`${config.base}/crossdevice/${id}`, { headers: { accept: 'application/json' } })
        .then((r) => r.json()).then(handle).catch(() => undefined);
    }, 2000);
    stop = () => { closed = true; clearInterval(timer); };
  };
  if (!('EventSource' in window)) return poll();
  const events = new EventSource(`${config.base}/crossdevice/${id}/events`);
  let failures = 0;
  events.addEventListener('status', (event) => {
    failures = 0;
    handle(JSON.parse((event as MessageEvent).data));
  });
  events.addEventListener('reconnect', () => {
    // This server is shutting down: open the stream again in a moment, through the load balancer to another one.
    events.close();
    const timer = setTimeout(() => { if (current === id) watch(id); }, 1000 + Math.random() * 1000);
    stop = () => { closed = true; clearTimeout(timer); };
  });
  events.addEventListener('replaced', () => {
    // A newer stream follows this request (another tab of this browser): this page polls instead.
    events.close();
    poll();
  });
  events.onerror = () => {
    // EventSource reconnects by itself, except after a refusal (429: too many streams from this
    // network), which closes it for good; after a refusal or repeated failures (a proxy that buffers), poll.
    failures += 1;
    if (events.readyState === EventSource.CLOSED || failures >= 3) {
      events.close();
      poll();
    }
  };
  stop = () => { closed = true; events.close(); };
}

function failed(error: unknown): void {
  if (error instanceof ApiError && error.code === 'interaction_expired') return options?.onExpired(error.message);
  hideStaleCode();
  statusEl.textContent = (error as Error).message || 'Something went wrong. Please try again.';
  newCode.hidden = false;
}

async function complete(id: string): Promise<void> {
  try {
    statusEl.textContent = 'Approved on your phone. Signing you in…';
    const { redirectTo } = await post<{ redirectTo: string }>(`/crossdevice/${id}/complete`, {});
    window.location.assign(redirectTo);
  } catch (error) {
    failed(error);
  }
}

async function cancelCurrent(): Promise<void> {
  stop();
  stopCountdown();
  if (!current) return;
  const id = current;
  current = undefined;
  await post(`/crossdevice/${id}/cancel`, {}).catch(() => undefined);
}

newCode.addEventListener('click', () => {
  if (!options) return;
  if (offerOtherWays) return closePanel();
  newCode.hidden = true;
  statusEl.textContent = 'Getting a new code…';
  // The focused button disappears: keep the keyboard in the panel.
  heading.focus();
  startCrossDevice(options).catch(failed);
});

function closePanel(): void {
  void cancelCurrent();
  panel.hidden = true;
  options?.onClose();
}

cancelButton.addEventListener('click', closePanel);
