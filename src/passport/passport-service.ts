import { createHash } from 'node:crypto';
import { randomId } from '../ids.js';
import { notFound, unauthorized } from '../errors.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import type { User } from '../storage/repositories/users.js';
import type { PassportDevice, PassportDeviceRepository, PushSubscriptionJSON } from '../storage/repositories/passport-devices.js';
import type { CrossDeviceRepository } from '../storage/repositories/crossdevice.js';
import type { PasskeyService } from '../accounts/passkey-service.js';
import type { AuthenticationResponse, RegistrationResponse } from '../webauthn/response-schema.js';
import type { CrossDeviceService, RequestDetails } from '../crossdevice/crossdevice-service.js';

/** An enrolment link from the desktop account page is valid this long, once. */
export const ENROLMENT_TOKEN_TTL_MS = 10 * 60 * 1000;

export interface EnrolledDevice {
  deviceId: string;
  /** Bearer token of the device for the device API; shown once, stored hashed. */
  deviceToken: string;
  userId: string;
  credentialId: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const enrolBinding = (tokenHash: string) => `passport-enrol:${tokenHash}`;
const PASSKEY_BINDING = 'passport-identify';

/**
 * Passport, the phone side of cross-device sign-in. A phone (the PWA or an app using the SDK)
 * enrols by proving who the user is — with a passkey it already has, or with a one-time enrolment
 * link shown on the desktop account page, after which it registers its own credential — and gets a
 * device record (with its Web Push subscription) and a device token for the device API.
 */
export class PassportService {
  constructor(
    private readonly devices: PassportDeviceRepository,
    private readonly requests: CrossDeviceRepository,
    private readonly passkeys: PasskeyService,
    private readonly crossDevice: CrossDeviceService,
    private readonly publicUrl: string,
  ) {}

  async createEnrolmentLink(tenant: Tenant, user: User, now = Date.now()): Promise<{ link: string; expiresAt: number }> {
    const token = randomId(24);
    const expiresAt = now + ENROLMENT_TOKEN_TTL_MS;
    await this.devices.insertEnrolmentToken({ tokenHash: sha256(token), tenantId: tenant.id, userId: user.id, expiresAt });
    // The token travels in the fragment, so it never reaches server logs or Referer headers.
    return { link: `${this.publicUrl}/${tenant.id}/passport/#enrol=${token}`, expiresAt };
  }

  async startTokenEnrolment(tenant: Tenant, token: string) {
    const tokenHash = sha256(token);
    const userId = await this.devices.findEnrolmentToken(tenant.id, tokenHash, Date.now());
    const user = userId && await this.passkeys.findUser(tenant.id, userId);
    if (!user) throw unauthorized('This enrolment link has expired or was already used. Show a new one on your computer (Your passkeys → Enrol a phone).', 'enrolment_token_invalid');
    return this.passkeys.startAddPasskey(tenant, enrolBinding(tokenHash), user);
  }

  async finishTokenEnrolment(tenant: Tenant, input: { token: string; challengeId: string; response: RegistrationResponse; name: string; pushSubscription?: PushSubscriptionJSON }): Promise<EnrolledDevice> {
    const tokenHash = sha256(input.token);
    const userId = await this.devices.consumeEnrolmentToken(tenant.id, tokenHash, Date.now());
    const user = userId && await this.passkeys.findUser(tenant.id, userId);
    if (!user) throw unauthorized('This enrolment link has expired or was already used. Show a new one on your computer.', 'enrolment_token_invalid');
    const credential = await this.passkeys.finishAddPasskey(tenant, enrolBinding(tokenHash), user, input);
    return this.createDevice(tenant, user.id, credential.id, input.name, input.pushSubscription);
  }

  startPasskeyEnrolment(tenant: Tenant) {
    return this.passkeys.startSignIn(tenant, PASSKEY_BINDING, {});
  }

  /**
   * Enrols with a passkey the phone already holds. That passkey becomes the device's credential:
   * registering a second one for the same account on the same phone would, on most phones, replace
   * the first.
   */
  async finishPasskeyEnrolment(tenant: Tenant, input: { challengeId: string; response: AuthenticationResponse; name: string; pushSubscription?: PushSubscriptionJSON }): Promise<EnrolledDevice> {
    const signedIn = await this.passkeys.finishSignIn(tenant, PASSKEY_BINDING, input);
    return this.createDevice(tenant, signedIn.user.id, signedIn.credentialId, input.name, input.pushSubscription);
  }

  async authenticate(tenant: Tenant, authorization: string | undefined): Promise<PassportDevice> {
    const token = /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(authorization ?? '')?.[1];
    const device = token ? await this.devices.findByTokenHash(sha256(token)) : undefined;
    if (!device || device.tenantId !== tenant.id) throw unauthorized('This device is not enrolled (or was removed). Enrol it again in Passport.', 'device_unknown');
    await this.devices.touch(tenant.id, device.id, Date.now());
    return device;
  }

  /** The account this device approves for, as Passport shows it: the person checks it is theirs. */
  async account(device: PassportDevice): Promise<{ email: string; name: string }> {
    const user = await this.passkeys.findUser(device.tenantId, device.userId);
    if (!user) throw unauthorized('This device is not enrolled (or was removed). Enrol it again in Passport.', 'device_unknown');
    return { email: user.email, name: user.displayName };
  }

  setPushSubscription(device: PassportDevice, subscription: PushSubscriptionJSON | null): Promise<void> {
    return this.devices.updatePushSubscription(device.tenantId, device.id, subscription);
  }

  /** Push requests waiting for this device's user (QR requests are opened from the code itself). */
  async pendingRequests(device: PassportDevice): Promise<RequestDetails[]> {
    const pending = await this.requests.listPendingForUser(device.tenantId, device.userId, Date.now());
    return Promise.all(pending.map((r) => this.crossDevice.details(device.tenantId, r.id)));
  }

  purgeExpiredEnrolmentTokens(now = Date.now()): Promise<void> {
    return this.devices.deleteExpiredEnrolmentTokens(now);
  }

  listDevices(tenantId: string, userId: string): Promise<PassportDevice[]> {
    return this.devices.listByUser(tenantId, userId);
  }

  async removeDevice(tenantId: string, userId: string, deviceId: string): Promise<void> {
    if (!(await this.devices.delete(tenantId, userId, deviceId))) throw notFound('This phone is not enrolled on your account.', 'unknown_device');
  }

  private async createDevice(tenant: Tenant, userId: string, credentialId: string, name: string, subscription?: PushSubscriptionJSON): Promise<EnrolledDevice> {
    const deviceToken = randomId(32);
    const device: PassportDevice = {
      tenantId: tenant.id,
      id: randomId(12),
      userId,
      name,
      credentialId,
      tokenHash: sha256(deviceToken),
      pushSubscription: subscription ?? null,
      createdAt: Date.now(),
      lastSeenAt: null,
    };
    await this.devices.insert(device);
    return { deviceId: device.id, deviceToken, userId, credentialId };
  }
}
