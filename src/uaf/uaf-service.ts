import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import { U2fAppRepository } from '../storage/repositories/u2f-apps.js';
import { randomId } from '../ids.js';
import { SesameError, badRequest, conflict, unauthorized } from '../errors.js';
import { SERVER_VERSION, responseSchema, type AuthenticationRequest, type DeregistrationRequest, type RegistrationRequest, type Transaction } from './messages.js';
import { checkResponse, checkVersion, decodeAuthAssertion, decodeRegAssertion, verifyAuthAssertion, verifyRegAssertion } from './verify.js';
import { UafRepository, type UafChallenge } from './repository.js';
import type { X509Certificate } from 'node:crypto';

/** A UAF request must be answered within this time, once. */
export const UAF_CHALLENGE_TTL_MS = 5 * 60 * 1000;
/** Whole UAF messages larger than this are refused before they are parsed. */
export const MAX_UAF_MESSAGE_BYTES = 64 * 1024;

/** Which authenticators a tenant accepts (UAF Policy): AAIDs (any when absent) and whether the user must be verified. */
export interface UafPolicy {
  acceptedAaids?: string[];
  /** USER_VERIFY_* bit field the request names (FIDO Registry §3.1); 0x400 ALL means every method listed. */
  userVerification: number;
  requireUserVerification: boolean;
  /** Roots basic full attestation must chain to; when empty, basic full and surrogate are both accepted untrusted. */
  attestationRoots: X509Certificate[];
}

export const DEFAULT_UAF_POLICY: UafPolicy = { userVerification: 0x3ff, requireUserVerification: true, attestationRoots: [] };

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const parseFailed = (message: string) => badRequest(`The UAF message is not valid: ${message}.`, 'uaf_malformed');

export interface UafEnrolled { deviceId: string; deviceToken: string; userId: string; aaid: string; keyId: string }
/** `attested`: the key's registration carried a basic full attestation verified to a trusted root. */
export interface UafAuthenticated { userId: string; aaid: string; keyId: string; payload: Record<string, unknown>; userVerified: boolean; transactionConfirmed: boolean; attested: boolean }

/**
 * The FIDO UAF server of a tenant: issues Reg, Auth and Dereg requests (each challenge single-use
 * and expiring, named by serverData), verifies the responses (src/uaf/verify.ts) and keeps the keys.
 * A registration is bound to an account by the one-time Passport set-up link, as Passport enrolment is.
 */
export class UafService {
  private readonly repo: UafRepository;
  private readonly devices: PassportDeviceRepository;
  private readonly u2fApps: U2fAppRepository;

  constructor(db: Kysely<Schema>, private readonly publicUrl: string, private readonly policy: UafPolicy = DEFAULT_UAF_POLICY) {
    this.repo = new UafRepository(db);
    this.devices = new PassportDeviceRepository(db);
    this.u2fApps = new U2fAppRepository(db);
  }

  appId(tenantId: string): string {
    return `${this.publicUrl.replace(/\/$/, '')}/${tenantId}/uaf/trusted-facets`;
  }

  /** The tenant's U2F facets when it set them (one list for both protocols), else Sesame's own origin. */
  async facets(tenantId: string): Promise<string[]> {
    return (await this.u2fApps.find(tenantId))?.facets ?? [new URL(this.publicUrl).origin];
  }

  async trustedFacets(tenantId: string) {
    return { trustedFacets: [{ version: { major: 1, minor: 0 }, ids: await this.facets(tenantId) }, { version: SERVER_VERSION, ids: await this.facets(tenantId) }] };
  }

  async startRegistration(tenant: Tenant, enrolmentToken: string, now = Date.now()): Promise<RegistrationRequest[]> {
    const userId = await this.devices.findEnrolmentToken(tenant.id, sha256(enrolmentToken), now);
    if (!userId) throw unauthorized('This set-up link has expired or was already used. Show a new one on your computer (Your passkeys → Enrol a phone).', 'enrolment_token_invalid');
    const { id, challenge } = await this.issue(tenant.id, 'Reg', { tokenHash: sha256(enrolmentToken) }, now);
    const criteria = { ...(this.policy.acceptedAaids ? { aaid: this.policy.acceptedAaids } : {}), userVerification: this.policy.userVerification, assertionSchemes: ['UAFV1TLV'] };
    return [{ header: this.header('Reg', tenant.id, id), challenge, username: userId, policy: { accepted: [[criteria]] } }];
  }

  async finishRegistration(tenant: Tenant, message: unknown, deviceName: string, now = Date.now()): Promise<UafEnrolled> {
    const response = this.readResponse(message);
    if (response.assertions.length !== 1) throw badRequest('Register one authenticator at a time.', 'uaf_malformed');
    const assertion = decodeRegAssertion(response.assertions[0]!);
    const issued = await this.redeem(tenant.id, 'Reg', response.header.serverData, now);
    const checked = checkResponse(response, { op: 'Reg', appId: this.appId(tenant.id), facets: await this.facets(tenant.id), challenge: issued.challenge });
    const verified = verifyRegAssertion(assertion, checked, { roots: this.policy.attestationRoots, at: new Date(now) });
    this.checkPolicy(verified.aaid, verified.userVerified);
    if (this.policy.attestationRoots.length > 0 && !verified.attestation.verified) {
      throw new SesameError('uaf_attestation', 400, `This authenticator's attestation is not trusted: ${verified.attestation.reason ?? 'unknown reason'}.`);
    }
    const userId = await this.devices.consumeEnrolmentToken(tenant.id, String(issued.payload.tokenHash), now);
    if (!userId) throw unauthorized('This set-up link has expired or was already used. Show a new one on your computer.', 'enrolment_token_invalid');
    const stored = await this.repo.insertRegistration({
      tenantId: tenant.id, aaid: verified.aaid, keyId: verified.keyId, userId, publicKey: verified.publicKey, signatureAlg: verified.signatureAlg,
      signCounter: verified.signCounter, attestationType: verified.attestation.type, attestationTrusted: verified.attestation.verified, createdAt: now, lastUsedAt: null,
    });
    if (!stored) throw conflict('This authenticator key is already registered.', 'uaf_key_registered');
    const deviceToken = randomId(32);
    const deviceId = randomId(12);
    await this.devices.insert({
      tenantId: tenant.id, id: deviceId, userId, name: deviceName, credentialId: uafCredentialId(verified.aaid, verified.keyId),
      tokenHash: sha256(deviceToken), pushSubscription: null, createdAt: now, lastSeenAt: null,
    });
    return { deviceId, deviceToken, userId, aaid: verified.aaid, keyId: verified.keyId };
  }

  /**
   * An Auth request for `userId`'s keys (or any registered key), with `transactionText` for the
   * authenticator to show and sign (text/plain, ≤ 200 characters). `payload` comes back with the result.
   */
  async startAuthentication(tenant: Tenant, input: { userId?: string; transactionText?: string; payload?: Record<string, unknown> }, now = Date.now()): Promise<AuthenticationRequest[]> {
    let criteria: Array<{ aaid?: string[]; keyIDs?: string[] }> = [{ ...(this.policy.acceptedAaids ? { aaid: this.policy.acceptedAaids } : {}) }];
    if (input.userId) {
      const keys = await this.repo.listByUser(tenant.id, input.userId);
      if (keys.length === 0) throw conflict('No UAF authenticator is registered for this account.', 'uaf_no_registration');
      criteria = keys.map((k) => ({ aaid: [k.aaid], keyIDs: [k.keyId] }));
    }
    const transaction: Transaction | undefined = input.transactionText === undefined ? undefined
      : { contentType: 'text/plain', content: Buffer.from(input.transactionText.slice(0, 200), 'utf8').toString('base64url') };
    const { id, challenge } = await this.issue(tenant.id, 'Auth', { ...input.payload, userId: input.userId ?? null, transaction: transaction ?? null }, now);
    return [{ header: this.header('Auth', tenant.id, id), challenge, ...(transaction ? { transaction: [transaction] } : {}), policy: { accepted: criteria.map((c) => [c]) } }];
  }

  async finishAuthentication(tenant: Tenant, message: unknown, now = Date.now()): Promise<UafAuthenticated> {
    const response = this.readResponse(message);
    if (response.assertions.length !== 1) throw badRequest('Answer with one authenticator.', 'uaf_malformed');
    const assertion = decodeAuthAssertion(response.assertions[0]!);
    const issued = await this.redeem(tenant.id, 'Auth', response.header.serverData, now);
    const checked = checkResponse(response, { op: 'Auth', appId: this.appId(tenant.id), facets: await this.facets(tenant.id), challenge: issued.challenge });
    const key = await this.repo.find(tenant.id, assertion.aaid, assertion.keyId.toString('base64url'));
    const wantedUser = issued.payload.userId as string | null;
    if (!key || (wantedUser && key.userId !== wantedUser)) throw new SesameError('uaf_unknown_key', 400, 'This authenticator key is not registered for the account (UAF status 1481).');
    const transaction = (issued.payload.transaction as Transaction | null) ?? undefined;
    const verified = verifyAuthAssertion(assertion, checked, key, transaction);
    const userVerified = assertion.info.authenticationMode === 0x01 || assertion.info.authenticationMode === 0x02;
    this.checkPolicy(assertion.aaid, userVerified);
    if (!(await this.repo.advanceCounter(key, verified.signCounter, now))) throw badRequest('This key was used at the same moment by another sign-in; try again.', 'uaf_counter');
    return { userId: key.userId, aaid: key.aaid, keyId: key.keyId, payload: issued.payload, userVerified, transactionConfirmed: verified.transactionConfirmed, attested: key.attestationTrusted };
  }

  /** Removes the account's registrations the request names (all when none is named) and returns the DeregistrationRequest for the client. */
  async deregister(tenant: Tenant, userId: string, match: { aaid?: string; keyId?: string }): Promise<{ removed: number; request: DeregistrationRequest[] }> {
    const removed = await this.repo.delete(tenant.id, userId, match);
    return { removed, request: [{ header: { upv: SERVER_VERSION, op: 'Dereg', appID: this.appId(tenant.id) }, authenticators: [{ aaid: match.aaid ?? '', keyID: match.keyId ?? '' }] }] };
  }

  purgeExpiredChallenges(now = Date.now()): Promise<void> {
    return this.repo.deleteExpiredChallenges(now);
  }

  private header(op: 'Reg' | 'Auth', tenantId: string, serverData: string) {
    return { upv: SERVER_VERSION, op, appID: this.appId(tenantId), serverData };
  }

  private async issue(tenantId: string, op: UafChallenge['op'], payload: Record<string, unknown>, now: number) {
    const record = { id: randomId(24), tenantId, op, challenge: randomBytes(32).toString('base64url'), payload, expiresAt: now + UAF_CHALLENGE_TTL_MS };
    await this.repo.insertChallenge(record);
    return record;
  }

  private async redeem(tenantId: string, op: UafChallenge['op'], serverData: string | undefined, now: number): Promise<UafChallenge> {
    const issued = serverData ? await this.repo.consumeChallenge(serverData, tenantId, op, now) : undefined;
    if (!issued) throw badRequest('This UAF request was already answered, has expired or was not issued here. Ask for a new one.', 'uaf_challenge');
    return issued;
  }

  private readResponse(message: unknown) {
    const list = typeof message === 'string' ? parseJson(message) : message;
    if (!Array.isArray(list) || list.length === 0 || list.length > 4) throw parseFailed('a UAF response is an array of one message per version');
    const parsed = responseSchema.safeParse(list[0]);
    if (!parsed.success) throw parseFailed(`${parsed.error.issues[0]?.path.join('.') || 'message'} ${parsed.error.issues[0]?.message ?? ''}`);
    // Malformed messages are refused before the challenge is spent: a broken answer changes nothing.
    checkVersion(parsed.data);
    return parsed.data;
  }

  private checkPolicy(aaid: string, userVerified: boolean): void {
    if (this.policy.acceptedAaids && !this.policy.acceptedAaids.includes(aaid)) {
      throw new SesameError('uaf_unacceptable_authenticator', 400, `The authenticator ${aaid} is not accepted here (UAF status 1492).`);
    }
    if (this.policy.requireUserVerification && !userVerified) throw new SesameError('uaf_user_verification', 400, 'The authenticator did not verify the user.');
  }
}

export const uafCredentialId = (aaid: string, keyId: string) => `uaf:${aaid}:${keyId}`;

function parseJson(text: string): unknown {
  if (text.length > MAX_UAF_MESSAGE_BYTES) throw badRequest(`The UAF message is larger than ${MAX_UAF_MESSAGE_BYTES} bytes.`, 'uaf_too_large');
  try {
    return JSON.parse(text);
  } catch {
    throw parseFailed('it is not JSON');
  }
}
