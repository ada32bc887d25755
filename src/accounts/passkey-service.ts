import type { Kysely } from 'kysely';
import { generateAuthenticationOptions, generateRegistrationOptions } from '@simplewebauthn/server';
import type { AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Schema } from '../storage/schema.js';
import { UserRepository, type User } from '../storage/repositories/users.js';
import { CredentialRepository, type StoredCredential } from '../storage/repositories/credentials.js';
import { policyOf, type Tenant } from '../storage/repositories/tenants.js';
import { randomId } from '../ids.js';
import { badRequest, conflict, forbidden, notFound, SesameError } from '../errors.js';
import type { EmailVerificationService } from './email-verification.js';
import { unknownAddressMessage } from './invitations.js';
import { CHALLENGE_TTL_MS, type ChallengeService } from '../webauthn/challenges.js';
import type { RelyingParty } from '../webauthn/relying-party.js';
import { verifyRegistration, type VerifiedRegistration } from '../webauthn/verify-registration.js';
import { verifyAssertion } from '../webauthn/verify-assertion.js';
import type { AuthenticationResponse, RegistrationResponse } from '../webauthn/response-schema.js';
import { acrsFor, amrFor, chooseAcr } from '../webauthn/amr.js';
import type { MetadataService } from '../webauthn/metadata/metadata-service.js';
import { checkRegistration, USER_VERIFICATION_MISSING } from '../webauthn/policy/check-registration.js';
import { registrationOptionsFor } from '../webauthn/policy/ceremony-options.js';
import { offeredAlgorithms } from '../webauthn/policy/authenticator-policy.js';
import { passkeyIcon, providerName } from './passkey-names.js';
import type { AttestationRootService } from '../tenants/attestation-roots.js';
import { certificationLevelOf, type AttestationFacts } from '../webauthn/policy/attestation-facts.js';
import { acrUnmet, type RequestedAcr } from '../oidc/requested-acr.js';

export interface CeremonyStart<T> {
  challengeId: string;
  options: T;
}

export interface SignedIn {
  user: User;
  /** The credential that proved it. */
  credentialId: string;
  acr: string;
  amr: string[];
  /** For a new passkey: 'multiDevice' when its provider may sync it (backup eligible). */
  deviceType?: 'singleDevice' | 'multiDevice';
}

/** What the sign-in must prove beyond the passkey itself: the application's acr request (none: nothing). */
export interface SignInRequirements {
  acr?: RequestedAcr;
}

/** A verified new passkey with what its attestation proved and its model, as the credential row keeps them. */
type NewPasskey = VerifiedRegistration & Required<Pick<StoredCredential, 'attestationTrusted' | 'attestationType' | 'attestationRoot' | 'attestationNote'
  | 'certificationLevel' | 'authenticatorName' | 'authenticatorIcon'>>;

interface SignUpPayload {
  userId: string;
  email: string;
  displayName: string;
  /** The proof of the address, spent when the account is made (tenants with e-mail verification). */
  verificationId: string | null;
  [key: string]: unknown;
}

/**
 * Account creation and sign-in with passkeys. User verification is required for every ceremony:
 * a passkey is the only factor, so it must carry the PIN/biometric as well as possession.
 */
export class PasskeyService {
  private readonly users: UserRepository;
  private readonly credentials: CredentialRepository;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly challenges: ChallengeService,
    private readonly rp: RelyingParty,
    private readonly verifications: EmailVerificationService,
    private readonly metadata: Pick<MetadataService, 'assertAuthenticatorAllowed' | 'assertCredentialAllowed' | 'entryFor' | 'statusFor'>,
    private readonly attestationRoots: Pick<AttestationRootService, 'pemsFor'>,
  ) {
    this.users = new UserRepository(db);
    this.credentials = new CredentialRepository(db);
  }

  /** The relying party id every passkey of this server is scoped to. */
  get rpId(): string {
    return this.rp.rpId;
  }

  findUserByEmail(tenantId: string, email: string): Promise<User | undefined> {
    return this.users.findByEmail(tenantId, email);
  }

  findUser(tenantId: string, id: string): Promise<User | undefined> {
    return this.users.findById(tenantId, id);
  }

  /**
   * With e-mail verification (the tenant's default), only an address proved for this interaction
   * gets a passkey; an account that holds it without ever having proved it does not stand in the way
   * (it is closed when the new one is made, see finishSignUp).
   */
  async startSignUp(tenant: Tenant, interactionUid: string, input: { email: string; displayName: string; verificationId?: string }): Promise<CeremonyStart<PublicKeyCredentialCreationOptionsJSON>> {
    const proved = tenant.emailVerification === 'off' ? undefined
      : await this.verifications.requireProvedSignUp(tenant.id, interactionUid, input.verificationId);
    if (proved && proved.email !== input.email) throw badRequest('This is not the address you confirmed. Start again with it.', 'email_not_verified');
    const holder = await this.users.findByEmail(tenant.id, input.email);
    if (holder && (!proved || holder.emailVerified)) {
      throw conflict('An account with this e-mail address already exists. Sign in with its passkey instead.', 'account_exists');
    }
    const payload: SignUpPayload = { userId: randomId(16), email: input.email, displayName: input.displayName, verificationId: proved?.id ?? null };
    const { challengeId, challenge } = await this.challenges.issue({ tenantId: tenant.id, interactionUid, purpose: 'registration' }, payload);
    const options = await this.registrationOptions(tenant, { id: payload.userId, email: input.email, displayName: input.displayName }, challenge, []);
    return { challengeId, options };
  }

  /** `admit` may refuse the address (it throws) before anything is written: an invitation for another one (InvitationService.signUpWith). */
  async finishSignUp(tenant: Tenant, interactionUid: string, input: { challengeId: string; response: RegistrationResponse }, requirements: SignInRequirements = {}, admit: (email: string) => void = () => {}): Promise<SignedIn> {
    const record = await this.challenges.consume(input.challengeId, { tenantId: tenant.id, interactionUid, purpose: 'registration' });
    const payload = record.payload as SignUpPayload;
    admit(payload.email);
    const verified = await this.verifyNewPasskey(tenant, input.response, record.challenge);
    // Before the account is made: a passkey the application would refuse makes no account.
    const acr = this.acrFor(verified, requirements);
    const now = Date.now();
    const verificationId = payload.verificationId;
    const user: User = { tenantId: tenant.id, id: payload.userId, email: payload.email, emailVerified: Boolean(verificationId), displayName: payload.displayName, createdAt: now };
    try {
      await this.db.transaction().execute(async (trx) => {
        const users = new UserRepository(trx);
        if (verificationId) {
          await this.verifications.spendSignUp(trx, tenant.id, verificationId, now);
          await users.closeUnverified(tenant.id, user.email, now);
        }
        await users.insert(user);
        await new CredentialRepository(trx).insert({ ...this.toStoredCredential(tenant.id, user.id, verified, now), lastUsedAt: now });
      });
    } catch (error) {
      if (error instanceof SesameError) throw error;
      if (await this.users.findByEmail(tenant.id, user.email)) {
        throw conflict('An account with this e-mail address already exists. Sign in with its passkey instead.', 'account_exists');
      }
      if (await this.credentials.find(tenant.id, verified.credentialId)) {
        throw conflict('This passkey is already registered.', 'credential_exists');
      }
      throw error;
    }
    return { user, credentialId: verified.credentialId, acr, amr: amrFor(verified), deviceType: verified.deviceType };
  }

  /** Options to add another passkey to a signed-in user's account (the ones they have are excluded). */
  async startAddPasskey(tenant: Tenant, bindingId: string, user: User): Promise<CeremonyStart<PublicKeyCredentialCreationOptionsJSON>> {
    const existing = await this.credentials.listByUser(tenant.id, user.id);
    const { challengeId, challenge } = await this.challenges.issue({ tenantId: tenant.id, interactionUid: bindingId, purpose: 'registration' }, { userId: user.id });
    const options = await this.registrationOptions(tenant, user, challenge, descriptors(existing));
    return { challengeId, options };
  }

  async finishAddPasskey(tenant: Tenant, bindingId: string, user: User, input: { challengeId: string; response: RegistrationResponse }): Promise<StoredCredential> {
    const record = await this.challenges.consume(input.challengeId, { tenantId: tenant.id, interactionUid: bindingId, purpose: 'registration' });
    if (record.payload.userId !== user.id) throw badRequest('This passkey request was started for another account.', 'challenge_invalid');
    const verified = await this.verifyNewPasskey(tenant, input.response, record.challenge);
    if (await this.credentials.find(tenant.id, verified.credentialId)) throw conflict('This passkey is already registered.', 'credential_exists');
    const credential = this.toStoredCredential(tenant.id, user.id, verified, Date.now());
    await this.credentials.insert(credential);
    return credential;
  }

  listPasskeys(tenantId: string, userId: string): Promise<StoredCredential[]> {
    return this.credentials.listByUser(tenantId, userId);
  }

  /** Removes one of the user's passkeys; the last one stays, or the account could never be used again. */
  async removePasskey(tenantId: string, userId: string, credentialId: string): Promise<void> {
    const outcome = await this.credentials.deleteUnlessLast(tenantId, userId, credentialId);
    if (outcome === 'unknown') throw notFound('This passkey is not registered to your account.', 'unknown_credential');
    if (outcome === 'last') throw conflict('This is your only passkey. Add another one before you remove it.', 'last_credential');
  }

  /** Gives one of the user's passkeys the name they chose (validated by the caller). */
  async renamePasskey(tenantId: string, userId: string, credentialId: string, name: string): Promise<void> {
    if (!await this.credentials.rename(tenantId, userId, credentialId, name)) {
      throw notFound('This passkey is not registered to your account.', 'unknown_credential');
    }
  }

  /**
   * A new passkey must verify (from PUBLIC_URL's origin or one of the tenant's related origins), its
   * model must not be one the FIDO metadata reports unsafe, and it must meet the tenant's policy.
   * User verification is checked by the policy, so that a refusal says it in the person's words.
   * Its attestation chain is verified to the FIDO metadata's roots for its AAGUID, the platform
   * vendors' and the tenant's own (`sesame trust add`).
   */
  private async verifyNewPasskey(tenant: Tenant, response: RegistrationResponse, challenge: string): Promise<NewPasskey> {
    const policy = policyOf(tenant);
    const verified = await verifyRegistration(response, {
      challenge, origin: this.originsOf(tenant), rpId: this.rp.rpId, requireUserVerification: false,
      supportedAlgorithms: await offeredAlgorithms(policy), framing: this.originsOf(tenant),
      attestation: { metadataFor: (aaguid) => this.metadata.entryFor(aaguid), tenantRootsPem: await this.attestationRoots.pemsFor(tenant.id) },
    });
    this.metadata.assertAuthenticatorAllowed(verified.aaguid);
    const facts = this.attestationFacts(verified);
    const metadata = this.metadata.entryFor(verified.aaguid);
    checkRegistration(policy, verified, facts, metadata?.description);
    const { trust, type } = verified.attestation;
    return {
      ...verified,
      attestationTrusted: facts.verified,
      attestationType: type,
      attestationRoot: trust.root ?? null,
      attestationNote: trust.verified ? null : trust.reason ?? null,
      certificationLevel: facts.certificationLevel ?? null,
      authenticatorName: metadata?.description ?? providerName(verified.aaguid) ?? null,
      authenticatorIcon: passkeyIcon(metadata?.icon) ?? null,
    };
  }

  /**
   * What the new passkey's attestation proved: its chain reached a trusted root (the FIDO metadata's
   * roots for its AAGUID, a platform vendor's or the tenant's) at registration. The certification
   * level is the metadata's for the AAGUID; the policy counts it only for a verified attestation.
   */
  private attestationFacts(verified: VerifiedRegistration): AttestationFacts {
    const trust = verified.attestation.trust;
    return {
      verified: trust.verified,
      root: trust.root?.subject,
      aaguid: verified.aaguid,
      certificationLevel: certificationLevelOf(this.metadata.statusFor(verified.aaguid)?.certification),
    };
  }

  /** The origins a ceremony of this tenant may come from: PUBLIC_URL's and its related origins. */
  private originsOf(tenant: Tenant): string[] {
    return [this.rp.origin, ...(tenant.relatedOrigins ?? [])];
  }

  /**
   * The acr a sign-in with this passkey earns, chosen to meet the application's request; a passkey
   * that cannot meet it is refused with what would.
   */
  private acrFor(key: { aaguid: string; deviceType: 'singleDevice' | 'multiDevice'; attestationTrusted?: boolean }, requirements: SignInRequirements): string {
    const keyProtection = this.metadata.entryFor(key.aaguid)?.entry.metadataStatement?.keyProtection;
    const satisfied = acrsFor({ deviceType: key.deviceType, attested: Boolean(key.attestationTrusted), keyProtection: Array.isArray(keyProtection) ? keyProtection.map(String) : undefined });
    const acr = chooseAcr(satisfied, requirements.acr?.values ?? []);
    if (!acr) throw acrUnmet(requirements.acr!.values);
    return acr;
  }

  /** Registration options from the tenant's policy (attestation, resident key, user verification, algorithms, hints). */
  private async registrationOptions(tenant: Tenant, user: { id: string; email: string; displayName: string }, challenge: string,
    excludeCredentials: Array<{ id: string; transports?: AuthenticatorTransport[] }>): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return generateRegistrationOptions({
      rpName: tenant.name,
      rpID: this.rp.rpId,
      userID: userHandle(user.id),
      userName: user.email,
      userDisplayName: user.displayName,
      challenge: Buffer.from(challenge, 'base64url'),
      timeout: CHALLENGE_TTL_MS,
      excludeCredentials,
      ...registrationOptionsFor(policyOf(tenant)),
      supportedAlgorithmIDs: await offeredAlgorithms(policyOf(tenant)),
    });
  }

  private toStoredCredential(tenantId: string, userId: string, verified: NewPasskey, now: number): StoredCredential {
    return {
      tenantId,
      id: verified.credentialId,
      userId,
      publicKey: verified.publicKey,
      signCount: verified.counter,
      transports: verified.transports,
      aaguid: verified.aaguid,
      deviceType: verified.deviceType,
      backedUp: verified.backedUp,
      attestationFormat: verified.attestationFormat,
      userVerified: verified.userVerified,
      attestationTrusted: verified.attestationTrusted,
      attestationType: verified.attestationType,
      attestationRoot: verified.attestationRoot,
      attestationNote: verified.attestationNote,
      certificationLevel: verified.certificationLevel,
      authenticatorName: verified.authenticatorName,
      authenticatorIcon: verified.authenticatorIcon,
      createdAt: now,
      lastUsedAt: null,
      name: null,
    };
  }

  /**
   * Options for a sign-in bound to `bindingId`: for a known user (by e-mail or id) with their
   * passkeys in allowCredentials, otherwise discoverable (the authenticator says who it is). A
   * caller that has looked the e-mail address up already passes what it found as `user`.
   */
  async startSignIn(tenant: Tenant, bindingId: string,
    input: { email?: string; userId?: string } | { email: string; user: User | undefined }): Promise<CeremonyStart<PublicKeyCredentialRequestOptionsJSON>> {
    let userId: string | undefined;
    let allowCredentials: Array<{ id: string; transports?: AuthenticatorTransport[] }> = [];
    // A key registered under FIDO U2F signs over SHA-256(AppID): the appid extension lets the browser use it.
    let appid: string | undefined;
    const user = 'user' in input ? input.user
      : input.email ? await this.users.findByEmail(tenant.id, input.email) : input.userId ? await this.users.findById(tenant.id, input.userId) : undefined;
    if (input.email || ('userId' in input && input.userId)) {
      if (!user) throw notFound(unknownAddressMessage(tenant), 'unknown_account');
      requireEnabled(user);
      userId = user.id;
      const credentials = await this.credentials.listByUser(tenant.id, user.id);
      allowCredentials = descriptors(credentials);
      appid = credentials.find((c) => c.u2fAppId)?.u2fAppId ?? undefined;
    }
    const { challengeId, challenge } = await this.challenges.issue({ tenantId: tenant.id, interactionUid: bindingId, purpose: 'authentication' }, { userId: userId ?? null });
    const options = await generateAuthenticationOptions({
      rpID: this.rp.rpId,
      challenge: Buffer.from(challenge, 'base64url'),
      timeout: CHALLENGE_TTL_MS,
      userVerification: policyOf(tenant).userVerification,
      allowCredentials,
      ...(appid ? { extensions: { appid } } : {}),
    });
    return { challengeId, options };
  }

  async finishSignIn(tenant: Tenant, interactionUid: string, input: { challengeId: string; response: AuthenticationResponse }, requirements: SignInRequirements = {}): Promise<SignedIn> {
    const policy = policyOf(tenant);
    const record = await this.challenges.consume(input.challengeId, { tenantId: tenant.id, interactionUid, purpose: 'authentication' });
    const credential = await this.credentials.find(tenant.id, input.response.id);
    if (!credential) throw badRequest('This passkey is not registered here. Use another one, or create an account.', 'unknown_credential');
    const expectedUserId = record.payload.userId as string | null;
    if (expectedUserId && expectedUserId !== credential.userId) {
      throw badRequest('This passkey belongs to a different account than the e-mail address you entered.', 'credential_mismatch');
    }
    const userHandle = input.response.response.userHandle;
    if (userHandle && Buffer.from(userHandle, 'base64url').toString('utf8') !== credential.userId) {
      throw badRequest('The passkey returned a user handle that does not match its account.', 'credential_mismatch');
    }
    // WebAuthn §10.1.1: when the client used the AppID, the RP ID hash is SHA-256(AppID). U2F keys
    // cannot verify the user, so such a sign-in is presence only (amr without "user").
    const viaAppId = Boolean(credential.u2fAppId) && input.response.clientExtensionResults.appid === true;
    const verified = await verifyAssertion(input.response, {
      challenge: record.challenge,
      origin: this.originsOf(tenant),
      rpId: viaAppId ? credential.u2fAppId! : this.rp.rpId,
      requireUserVerification: false,
      credential: { id: credential.id, publicKey: credential.publicKey, counter: credential.signCount },
      framing: this.originsOf(tenant),
    });
    // After the signature, so that only the passkey's holder learns it is refused. A key imported from
    // U2F can never verify the user: the operator who imported it chose presence for it (amr says so).
    if (policy.userVerification === 'required' && !verified.userVerified && !viaAppId) throw forbidden(USER_VERIFICATION_MISSING, 'user_verification_required');
    this.metadata.assertCredentialAllowed(credential);
    if (verified.counterRegressed) {
      await this.credentials.flagPossiblyCloned(credential, {
        id: randomId(16), at: Date.now(),
        detail: { storedSignCount: credential.signCount, presentedSignCount: verified.newCounter, action: policy.counterRegression === 'deny' ? 'denied' : 'allowed' },
      });
      if (policy.counterRegression === 'deny') throw forbidden(POSSIBLY_CLONED, 'passkey_possibly_cloned');
    }
    const acr = this.acrFor(credential, requirements);
    const recorded = await this.credentials.recordUse(tenant.id, credential.id, credential.signCount, {
      // A counter that went back is not stored: the highest count seen stays the one to beat.
      signCount: verified.counterRegressed ? credential.signCount : verified.newCounter,
      backedUp: verified.backedUp,
      usedAt: Date.now(),
    });
    // Our challenge was fresh and consumed by us, and the counter had moved forward when we read it:
    // losing the write means another window used the passkey in between, not a replay (a replayed
    // assertion fails at its used challenge; a counter that went back was dealt with above).
    if (!recorded) throw conflict('This passkey was just used in another window. Please try again.', 'passkey_in_use');
    const user = await this.users.findById(tenant.id, credential.userId);
    if (!user && await this.users.isDisabled(tenant.id, credential.userId)) throw forbidden(ACCOUNT_DISABLED, 'account_disabled');
    if (!user) throw badRequest('The account of this passkey no longer exists (or was closed when the owner of its e-mail address confirmed it for a new account).', 'unknown_account');
    return { user, credentialId: credential.id, acr, amr: amrFor(verified) };
  }
}

const POSSIBLY_CLONED = 'This passkey\'s signature counter went backwards, which is what happens when a passkey has been copied. '
  + 'To keep your account safe it was not accepted. Sign in with another passkey, and tell the people who run this sign-in.';

export const ACCOUNT_DISABLED = 'This account is disabled. Ask the people who run this sign-in to enable it again.';

/** A disabled account (sesame user disable) is known but signs in nowhere. */
export function requireEnabled(user: User): void {
  if (user.disabled) throw forbidden(ACCOUNT_DISABLED, 'account_disabled');
}

/** The WebAuthn user handle of an account: its id's UTF-8 bytes (sign-in checks it the same way). */
export function userHandle(userId: string) {
  return Buffer.from(userId, 'utf8');
}

/** Credential descriptors for allowCredentials / excludeCredentials. */
function descriptors(credentials: StoredCredential[]): Array<{ id: string; transports?: AuthenticatorTransport[] }> {
  return credentials.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] }));
}
