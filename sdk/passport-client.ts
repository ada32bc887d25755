import { UafAuthenticator } from './uaf-authenticator.js';

/**
 * Sesame Passport client: what a phone or desktop app uses to enrol as a device and approve or
 * deny cross-device sign-in requests (the device API, docs/device-api.md). It needs only `fetch`
 * and an authenticator: a WebAuthn one — the SDK's SoftwareAuthenticator (Node; key in memory or a
 * file), or in a browser an adapter around navigator.credentials — or a FIDO UAF one (the SDK's
 * UafAuthenticator, or a native app's UAF client behind the same two methods).
 */

export interface PassportAuthenticator {
  createCredential(options: any, origin: string): unknown | Promise<unknown>;
  getAssertion(options: any, origin: string): unknown | Promise<unknown>;
}

export interface PassportDevice {
  publicUrl: string;
  tenant: string;
  deviceId: string;
  deviceToken: string;
  name: string;
  /** How this device proves its approvals: a WebAuthn credential (the default) or a FIDO UAF key. */
  protocol?: 'webauthn' | 'uaf';
}

/** What a phone is shown before it approves: who asks, from where, and the three numbers. */
export interface RequestDetails {
  id: string;
  tenant: string;
  kind: 'qr' | 'push';
  status: 'pending' | 'approved' | 'denied' | 'failed' | 'cancelled' | 'expired' | 'completed';
  clientName: string;
  browser: string;
  os: string;
  ip: string;
  createdAt: string;
  expiresAt: string;
  choices: number[];
  /** When `status` is `failed`: `wrong_number` or `no_passkey_on_phone`. */
  reason?: 'wrong_number' | 'no_passkey_on_phone';
  /** The e-mail address of the account asked for, when the desktop named one. */
  account?: string;
}

export interface PushSubscriptionJSON {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export class PassportError extends Error {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
    this.name = 'PassportError';
  }
}

/** Where a request lives: its https link (…/<tenant>/x/<id>) or, with a known device, its id. */
export function parseRequestLink(link: string): { publicUrl: string; tenant: string; id: string } {
  const url = new URL(link);
  const match = /^(.*)\/([^/]+)\/x\/([A-Za-z0-9_-]{16,64})\/?$/.exec(url.pathname);
  if (!match) throw new PassportError('invalid_link', 400, `"${link}" is not a Sesame sign-in request link.`);
  return { publicUrl: `${url.origin}${match[1]}`, tenant: match[2], id: match[3] };
}

/** An enrolment link from the account page: https://host/<tenant>/passport/#enrol=<token>. */
export function parseEnrolmentLink(link: string): { publicUrl: string; tenant: string; token: string } {
  const url = new URL(link);
  const match = /^(.*)\/([^/]+)\/passport\/?$/.exec(url.pathname);
  const token = /(?:^#|&)enrol=([A-Za-z0-9_-]+)/.exec(url.hash)?.[1];
  if (!match || !token) throw new PassportError('invalid_link', 400, `"${link}" is not a Passport enrolment link (it ends in #enrol=…).`);
  return { publicUrl: `${url.origin}${match[1]}`, tenant: match[2], token };
}

export class PassportClient {
  constructor(
    readonly authenticator: PassportAuthenticator | UafAuthenticator,
    public device?: PassportDevice,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** Enrols with a one-time link shown on the desktop account page; registers a new device key. */
  async enrolWithLink(link: string, name: string, pushSubscription?: PushSubscriptionJSON): Promise<PassportDevice> {
    const { publicUrl, tenant, token } = parseEnrolmentLink(link);
    if (this.authenticator instanceof UafAuthenticator) return this.enrolWithUaf(this.authenticator, { publicUrl, tenant, token }, name, pushSubscription);
    const base = `${publicUrl}/${tenant}/passport/api`;
    const { challengeId, options } = await this.call(publicUrl, `${base}/enrol/token/options`, { token });
    const response = await this.authenticator.createCredential(options, new URL(publicUrl).origin);
    const enrolled = await this.call(publicUrl, `${base}/enrol/token`, { token, challengeId, response, name, pushSubscription });
    this.device = { publicUrl, tenant, deviceId: enrolled.deviceId, deviceToken: enrolled.deviceToken, name };
    return this.device;
  }

  /** Enrols with a passkey this authenticator already holds for the tenant. */
  async enrolWithPasskey(publicUrl: string, tenant: string, name: string, pushSubscription?: PushSubscriptionJSON): Promise<PassportDevice> {
    const authenticator = this.webAuthn();
    const base = `${publicUrl}/${tenant}/passport/api`;
    const { challengeId, options } = await this.call(publicUrl, `${base}/enrol/passkey/options`, {});
    const response = await authenticator.getAssertion(options, new URL(publicUrl).origin);
    const enrolled = await this.call(publicUrl, `${base}/enrol/passkey`, { challengeId, response, name, pushSubscription });
    this.device = { publicUrl, tenant, deviceId: enrolled.deviceId, deviceToken: enrolled.deviceToken, name };
    return this.device;
  }

  /** Push requests waiting for this device's user. */
  async pendingRequests(): Promise<RequestDetails[]> {
    const device = this.requireDevice();
    return (await this.call(device.publicUrl, `${device.publicUrl}/${device.tenant}/passport/api/requests`, undefined, device.deviceToken)).requests;
  }

  async setPushSubscription(subscription: PushSubscriptionJSON | null): Promise<void> {
    const device = this.requireDevice();
    await this.call(device.publicUrl, `${device.publicUrl}/${device.tenant}/passport/api/device/push`, { subscription }, device.deviceToken);
  }

  /** Who is asking: client, desktop browser and OS, IP, time, and the three numbers to choose from. */
  async details(request: string): Promise<RequestDetails> {
    const { publicUrl, tenant, id } = this.resolve(request);
    return this.call(publicUrl, `${publicUrl}/${tenant}/x/${id}/details`);
  }

  /**
   * Picks `number` (the one shown on the desktop) and approves: with a passkey assertion, or — for a
   * device enrolled with UAF — with a UAF assertion over the sign-in details the authenticator shows.
   */
  async approve(request: string, number: number): Promise<void> {
    const { publicUrl, tenant, id } = this.resolve(request);
    if (this.authenticator instanceof UafAuthenticator) {
      const device = this.requireDevice();
      const uaf = `${publicUrl}/${tenant}/uaf`;
      const { uafRequest } = await this.call(publicUrl, `${uaf}/get`, { op: 'Auth', context: JSON.stringify({ request: id, number }) }, device.deviceToken);
      const uafResponse = await this.authenticator.authenticate(uafRequest);
      await this.call(publicUrl, `${uaf}/respond`, { uafResponse: JSON.stringify(uafResponse), context: '{}' });
      return;
    }
    const base = `${publicUrl}/${tenant}/x/${id}`;
    const { challengeId, options } = await this.call(publicUrl, `${base}/choose`, { number });
    const response = await this.authenticator.getAssertion(options, new URL(publicUrl).origin);
    await this.call(publicUrl, `${base}/approve`, { challengeId, response });
  }

  async deny(request: string): Promise<void> {
    const { publicUrl, tenant, id } = this.resolve(request);
    await this.call(publicUrl, `${publicUrl}/${tenant}/x/${id}/deny`, {});
  }

  /** Registers a UAF key with the one-time link (UAF Reg bound by the set-up token), then the push subscription. */
  private async enrolWithUaf(authenticator: UafAuthenticator, link: { publicUrl: string; tenant: string; token: string }, name: string, pushSubscription?: PushSubscriptionJSON): Promise<PassportDevice> {
    const { publicUrl, tenant, token } = link;
    const uaf = `${publicUrl}/${tenant}/uaf`;
    const { uafRequest } = await this.call(publicUrl, `${uaf}/get`, { op: 'Reg', context: JSON.stringify({ enrolmentToken: token }) });
    const uafResponse = authenticator.register(uafRequest);
    const enrolled = await this.call(publicUrl, `${uaf}/respond`, { uafResponse: JSON.stringify(uafResponse), context: JSON.stringify({ name }) });
    this.device = { publicUrl, tenant, deviceId: enrolled.deviceId, deviceToken: enrolled.deviceToken, name, protocol: 'uaf' };
    if (pushSubscription) await this.setPushSubscription(pushSubscription);
    return this.device;
  }

  private webAuthn(): PassportAuthenticator {
    if (this.authenticator instanceof UafAuthenticator) throw new PassportError('wrong_protocol', 400, 'This device approves with FIDO UAF: it has no passkey to enrol with.');
    return this.authenticator;
  }

  private resolve(request: string): { publicUrl: string; tenant: string; id: string } {
    if (/^https?:\/\//.test(request)) return parseRequestLink(request);
    const device = this.requireDevice();
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(request)) throw new PassportError('invalid_request_id', 400, `"${request}" is neither a request link nor a request id.`);
    return { publicUrl: device.publicUrl, tenant: device.tenant, id: request };
  }

  private requireDevice(): PassportDevice {
    if (!this.device) throw new PassportError('not_enrolled', 400, 'This device is not enrolled yet: enrol it with a link from the account page first.');
    return this.device;
  }

  private async call(publicUrl: string, url: string, body?: unknown, bearer?: string): Promise<any> {
    const headers: Record<string, string> = { accept: 'application/json', origin: new URL(publicUrl).origin };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const response = await this.fetchImpl(url, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new PassportError(data.error ?? 'http_error', response.status, data.message ?? `Sesame answered HTTP ${response.status}.`);
    return data;
  }
}
