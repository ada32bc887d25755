import { config, post, show, explain } from './page.js';

/**
 * "Use my phone" on the desktop sign-in page: shows the QR code (or sends a push) and the number
 * to pick, follows the request over Server-Sent Events (falling back to polling), and completes
 * the sign-in here once the phone approved.
 */
interface Started { id: string; kind: 'qr' | 'push'; delivered?: number; link: string; qrSvg: string; number: number; expiresAt: string }
interface StatusView { id: string; status: string; message: string }

const TERMINAL = ['approved', 'denied', 'failed', 'cancelled', 'expired', 'completed'];
const panel = document.getElementById('crossdevice') as HTMLElement;
const image = document.getElementById('crossdevice-qr-image') as HTMLImageElement;
const numberEl = document.getElementById('crossdevice-number')!;
const statusEl = document.getElementById('crossdevice-status')!;
const link = document.getElementById('crossdevice-link') as HTMLAnchorElement;
const instructions = document.getElementById('crossdevice-instructions')!;
const newCode = document.getElementById('crossdevice-new') as HTMLButtonElement;

let current: string | undefined;
let lastPush = false;
let lastEmail: string | undefined;
let stop: () => void = () => undefined;

export async function startCrossDevice(push: boolean, email: string | undefined): Promise<void> {
  await cancelCurrent();
  lastPush = push;
  lastEmail = email;
  const started = await post<Started>('/crossdevice', { email, push });
  current = started.id;
  panel.hidden = false;
  newCode.hidden = true;
  const unreached = push && started.delivered === 0;
  image.hidden = push && !unreached;
  image.src = `data:image/svg+xml;base64,${btoa(started.qrSvg)}`;
  instructions.textContent = !push
    ? "Scan this code with your phone's camera or the Passport app."
    : unreached
      ? 'We could not reach your phone right now. Scan this code with it instead.'
      : 'We sent a notification to your phone. Open it to approve.';
  numberEl.textContent = String(started.number);
  link.href = started.link;
  link.textContent = started.link;
  statusEl.textContent = 'Waiting for your phone…';
  watch(started.id);
  panel.scrollIntoView({ block: 'nearest' });
}

function watch(id: string): void {
  stop();
  let closed = false;
  const handle = (view: StatusView) => {
    if (closed || view.id !== current) return;
    statusEl.textContent = view.message;
    if (!TERMINAL.includes(view.status)) return;
    stop();
    if (view.status === 'approved') {
      void complete(id);
    } else {
      newCode.hidden = false;
      image.hidden = true;
    }
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
  events.onerror = () => {
    // EventSource reconnects by itself; after repeated failures (a proxy that buffers), poll instead.
    failures += 1;
    if (failures >= 3) {
      events.close();
      poll();
    }
  };
  stop = () => { closed = true; events.close(); };
}

async function complete(id: string): Promise<void> {
  try {
    statusEl.textContent = 'Approved on your phone. Signing you in…';
    const { redirectTo } = await post<{ redirectTo: string }>(`/crossdevice/${id}/complete`, {});
    window.location.assign(redirectTo);
  } catch (error) {
    statusEl.textContent = explain(error);
    newCode.hidden = false;
  }
}

async function cancelCurrent(): Promise<void> {
  stop();
  if (!current) return;
  const id = current;
  current = undefined;
  await post(`/crossdevice/${id}/cancel`, {}).catch(() => undefined);
}

newCode.addEventListener('click', () => {
  startCrossDevice(lastPush, lastEmail).catch((error) => show(explain(error), 'error'));
});

document.getElementById('crossdevice-cancel')!.addEventListener('click', () => {
  void cancelCurrent().then(() => { panel.hidden = true; });
});
