import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateAuthenticationOptions, generateRegistrationOptions } from '@simplewebauthn/server';
import type { AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Schema } from '../storage/schema.js';
import { randomId } from '../ids.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { CHALLENGE_TTL_MS, type ChallengeService } from '../webauthn/challenges.js';
import type { RelyingParty } from '../webauthn/relying-party.js';
import { verifyRegistration } from '../webauthn/verify-registration.js';
import { verifyAssertion } from '../webauthn/verify-assertion.js';
import type { AuthenticationResponse, RegistrationResponse } from '../webauthn/response-schema.js';
import type { TenantService } from '../tenants/tenant-service.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import { AdminRepository, OPERATOR_SCOPE, type Admin } from './admin-repository.js';
import { InvitationRepository, type Invitation, type InvitationKind } from './invitation-repository.js';

/** How long a one-time link works: long enough to be read from a mail the next day. */
export const INVITATION_TTL_MS = 24 * 3600 * 1000;
/** A console session lasts a working day; then the administrator signs in with their passkey again. */
export const ADMIN_SESSION_MS = 8 * 3600 * 1000;

const CEREMONY_SCOPE = OPERATOR_SCOPE; // webauthn_challenges.tenant_id of the console's ceremonies

export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

export interface AdminSession {
  admin: Admin;
  idHash: string;
}

/** What an enrolment link is for, as its page shows it before the passkey is made. */
export interface EnrolmentStart {
  email: string;
  kind: InvitationKind;
  /** The tenant administered (for new-tenant: the one the enrolment creates); undefined for an operator. */
  tenantId?: string;
  tenantName?: string;
  challengeId: string;
  options: PublicKeyCredentialCreationOptionsJSON;
}

export interface Enrolled {
  admin: Admin;
  credentialId: string;
  invitation: Invitation;
  /** The tenant this enrolment created (an onboarding). */
  createdTenant?: Tenant;
}

const LINK_INVALID = 'This link has expired or was already used. Ask for a new one (an administrator of your tenant, or the operator with "sesame admin create").';

/**
 * The console's administrators: operator administrators (every tenant) and tenant administrators
 * (one tenant). They are not users of any tenant: their own accounts, passkeys (RP ID = PUBLIC_URL's
 * host, user verification required) and server-side sessions. An administrator is made by a one-time
 * link only; using the link is one conditional UPDATE, so a link makes one administrator however
 * many browsers use it at once.
 */
export class AdminAccounts {
  private readonly admins: AdminRepository;
  private readonly invitations: InvitationRepository;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly challenges: ChallengeService,
    private readonly rp: RelyingParty,
    private readonly tenants: TenantService,
    private readonly publicUrl: string,
  ) {
    this.admins = new AdminRepository(db);
    this.invitations = new InvitationRepository(db);
  }

  /** A one-time link; only the token's SHA-256 is stored. */
  async createInvitation(input: { kind: InvitationKind; email: string; tenantId?: string; tenantName?: string; invitedBy: string }, now = Date.now()): Promise<{ invitation: Invitation; link: string }> {
    const token = randomId(32);
    const invitation: Invitation = {
      id: randomId(16),
      tokenHash: sha256(token),
      kind: input.kind,
      email: input.email.trim().toLowerCase(),
      tenantId: input.tenantId ?? null,
      tenantName: input.tenantName ?? null,
      invitedBy: input.invitedBy,
      createdAt: now,
      expiresAt: now + INVITATION_TTL_MS,
      usedAt: null,
    };
    await this.invitations.insert(invitation);
    return { invitation, link: this.linkFor(invitation.kind, token) };
  }

  /**
   * The token rides in the link's fragment: browsers never send it to a server, so it stays out of
   * access logs and proxies, and a mail scanner that fetches the page cannot use it.
   */
  linkFor(kind: InvitationKind, token: string): string {
    return kind === 'organisation' ? `${this.publicUrl}/onboard#invitation=${token}` : `${this.publicUrl}/admin/enrol#${token}`;
  }

  /** An invitation to administer one tenant, from one of its administrators (or an operator). */
  async inviteTenantAdmin(tenantId: string, email: string, invitedBy: Admin): Promise<{ invitation: Invitation; link: string; tenant: Tenant }> {
    const tenant = await this.tenants.requireTenant(tenantId);
    const existing = await this.admins.findByEmail(tenantId, email);
    if (existing && (await this.admins.credentialIdsOf(existing.id)).length > 0) {
      throw conflict(`${email} is already an administrator of ${tenant.name}.`, 'admin_exists');
    }
    return { ...await this.createInvitation({ kind: 'tenant-admin', email, tenantId, invitedBy: invitedBy.email }), tenant };
  }

  listAdmins(scope: string) {
    return this.admins.listByScope(scope);
  }

  listOpenInvitations(tenantId: string, now = Date.now()): Promise<Invitation[]> {
    return this.invitations.listOpen(tenantId, 'tenant-admin', now);
  }

  async withdrawInvitation(tenantId: string, invitationId: string, now = Date.now()): Promise<void> {
    if (!await this.invitations.withdraw(invitationId, tenantId, 'tenant-admin', now)) throw notFound('This invitation was already used, withdrawn or has expired.', 'unknown_invitation');
  }

  /** Removes an administrator of the tenant (not oneself: someone must stay who can invite). */
  async removeAdmin(tenantId: string, adminId: string, by: Admin): Promise<Admin> {
    const admin = await this.admins.findAdmin(adminId);
    if (!admin || admin.tenantId !== tenantId) throw notFound('There is no such administrator of this tenant.', 'unknown_admin');
    if (admin.id === by.id) throw badRequest('You cannot remove yourself. Another administrator of this tenant can.', 'cannot_remove_self');
    await this.admins.deleteAdmin(admin.id);
    return admin;
  }

  /** Checks an enrolment link and starts making its passkey (the link is used only when the passkey is saved). */
  async startEnrolment(token: string, now = Date.now()): Promise<EnrolmentStart> {
    const invitation = await this.usableEnrolment(token, now);
    const existing = await this.admins.findByEmail(scopeOf(invitation), invitation.email);
    const adminId = existing?.id ?? randomId(16);
    const tenantName = invitation.kind === 'new-tenant' ? invitation.tenantName! : invitation.tenantId ? (await this.tenants.requireTenant(invitation.tenantId)).name : undefined;
    const { challengeId, challenge } = await this.challenges.issue({ tenantId: CEREMONY_SCOPE, interactionUid: `admin-enrol:${invitation.id}`, purpose: 'registration' }, { adminId });
    const exclude = existing ? await this.admins.credentialIdsOf(existing.id) : [];
    const options = await generateRegistrationOptions({
      rpName: 'Sesame console',
      rpID: this.rp.rpId,
      userID: new Uint8Array(adminHandle(adminId)),
      userName: invitation.email,
      userDisplayName: tenantName ? `${invitation.email} (${tenantName} console)` : `${invitation.email} (Sesame operator)`,
      challenge: Buffer.from(challenge, 'base64url'),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: exclude.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] })),
    });
    return { email: invitation.email, kind: invitation.kind, tenantId: invitation.tenantId ?? undefined, tenantName, challengeId, options };
  }

  /**
   * Saves the passkey and uses the link. For an onboarding the tenant is created here: the link
   * proved the address, and the passkey is the one the new tenant's console opens with.
   */
  async finishEnrolment(token: string, input: { challengeId: string; response: RegistrationResponse }, now = Date.now()): Promise<Enrolled> {
    const invitation = await this.usableEnrolment(token, now);
    const record = await this.challenges.consume(input.challengeId, { tenantId: CEREMONY_SCOPE, interactionUid: `admin-enrol:${invitation.id}`, purpose: 'registration' });
    const verified = await verifyRegistration(input.response, { challenge: record.challenge, origin: this.rp.origin, rpId: this.rp.rpId, requireUserVerification: true });
    if (await this.admins.findCredential(verified.credentialId)) throw conflict('This passkey is already registered for the console.', 'credential_exists');
    if (!await this.invitations.use(invitation.id, now)) throw conflict(LINK_INVALID, 'invitation_used');
    let createdTenant: Tenant | undefined;
    if (invitation.kind === 'new-tenant') {
      createdTenant = await this.tenants.createTenant(invitation.tenantId!, invitation.tenantName!);
      await this.invitations.releaseTenantId(createdTenant.id);
    }
    const scope = scopeOf(invitation);
    const admin = await this.db.transaction().execute(async (trx) => {
      const admins = new AdminRepository(trx);
      const found = await admins.findByEmail(scope, invitation.email);
      const saved = found ?? { id: record.payload.adminId as string, email: invitation.email, tenantId: scope, createdAt: now };
      if (!found) await admins.insertAdmin(saved);
      await admins.insertCredential({
        id: verified.credentialId, adminId: saved.id, publicKey: verified.publicKey, signCount: verified.counter, transports: verified.transports,
        aaguid: verified.aaguid, deviceType: verified.deviceType, backedUp: verified.backedUp, createdAt: now, lastUsedAt: now,
      });
      return saved;
    });
    return { admin, credentialId: verified.credentialId, invitation, createdTenant };
  }

  /** Options for a console sign-in: a discoverable passkey, the person verified. */
  async startSignIn(binding: string): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const { challengeId, challenge } = await this.challenges.issue({ tenantId: CEREMONY_SCOPE, interactionUid: `admin-signin:${binding}`, purpose: 'authentication' }, {});
    const options = await generateAuthenticationOptions({
      rpID: this.rp.rpId, challenge: Buffer.from(challenge, 'base64url'), timeout: CHALLENGE_TTL_MS, userVerification: 'required', allowCredentials: [],
    });
    return { challengeId, options };
  }

  async finishSignIn(binding: string, input: { challengeId: string; response: AuthenticationResponse }, now = Date.now()): Promise<{ admin: Admin; credentialId: string }> {
    const record = await this.challenges.consume(input.challengeId, { tenantId: CEREMONY_SCOPE, interactionUid: `admin-signin:${binding}`, purpose: 'authentication' });
    const credential = await this.admins.findCredential(input.response.id);
    if (!credential) throw badRequest('This passkey does not open the console. Choose the passkey you created for the console (its name ends in "console" or "Sesame operator").', 'unknown_credential');
    const handle = input.response.response.userHandle;
    if (handle && !Buffer.from(handle, 'base64url').equals(adminHandle(credential.adminId))) {
      throw badRequest('The passkey returned a user handle that does not match its administrator.', 'credential_mismatch');
    }
    const verified = await verifyAssertion(input.response, {
      challenge: record.challenge, origin: this.rp.origin, rpId: this.rp.rpId, requireUserVerification: true,
      credential: { id: credential.id, publicKey: credential.publicKey, counter: credential.signCount },
    });
    if (verified.counterRegressed) {
      throw forbidden('This passkey\'s signature counter went backwards, which is what happens when a passkey has been copied. It was not accepted.', 'passkey_possibly_cloned');
    }
    if (!await this.admins.recordUse(credential.id, credential.signCount, verified.newCounter, now)) {
      throw conflict('This passkey was just used in another window. Please try again.', 'passkey_in_use');
    }
    const admin = await this.admins.findAdmin(credential.adminId);
    if (!admin) throw badRequest('The administrator of this passkey no longer exists.', 'unknown_admin');
    return { admin, credentialId: credential.id };
  }

  /** Opens a session; returns the cookie's value (only its SHA-256 is stored). */
  async openSession(adminId: string, credentialId: string, now = Date.now()): Promise<string> {
    const token = randomId(32);
    await this.admins.insertSession({ idHash: sha256(token), adminId, credentialId, createdAt: now, expiresAt: now + ADMIN_SESSION_MS });
    return token;
  }

  /** The session of a cookie value, or undefined for a missing, expired, ended or made-up one. */
  async readSession(token: string | undefined, now = Date.now()): Promise<AdminSession | undefined> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const session = await this.admins.findSession(sha256(token), now);
    const admin = session && await this.admins.findAdmin(session.adminId);
    return admin && session && { admin, idHash: session.idHash };
  }

  async endSession(token: string | undefined): Promise<void> {
    if (token) await this.admins.deleteSession(sha256(token));
  }

  async purgeExpired(now = Date.now()): Promise<void> {
    await this.admins.purgeExpiredSessions(now);
    await this.invitations.purge(now);
  }

  private async usableEnrolment(token: string, now: number): Promise<Invitation> {
    const invitation = await this.invitations.findUsable(sha256(token), now);
    if (!invitation || invitation.kind === 'organisation') throw badRequest(LINK_INVALID, 'invitation_invalid');
    if (invitation.kind === 'new-tenant' && await this.tenants.findTenant(invitation.tenantId!)) {
      throw conflict(`The tenant id "${invitation.tenantId}" was taken in the meantime. Start again at ${this.publicUrl}/onboard with another one.`, 'tenant_exists');
    }
    return invitation;
  }
}

/** May this administrator see and change this tenant? */
export function administers(admin: Admin, tenantId: string): boolean {
  return admin.tenantId === OPERATOR_SCOPE || admin.tenantId === tenantId;
}

export const isOperator = (admin: Admin) => admin.tenantId === OPERATOR_SCOPE;

/** The administrator's user handle: never equal to a tenant user's (their ids have no colon). */
function adminHandle(adminId: string): Buffer {
  return Buffer.from(`admin:${adminId}`, 'utf8');
}

function scopeOf(invitation: Invitation): string {
  return invitation.kind === 'operator' ? OPERATOR_SCOPE : invitation.tenantId!;
}
