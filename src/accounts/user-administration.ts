import type { User, UserRepository } from '../storage/repositories/users.js';
import type { CredentialRepository } from '../storage/repositories/credentials.js';
import type { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { RecoveryService } from './recovery-service.js';
import type { MetadataService } from '../webauthn/metadata/metadata-service.js';
import { describePasskey } from './passkey-names.js';
import { badRequest, notFound } from '../errors.js';

/** Ends a user's sessions everywhere (account page, OIDC with grants and tokens) and tells the clients that asked (back-channel logout). */
export interface SessionEnder {
  endSessionsOfUser(tenantId: string, userId: string): Promise<void>;
}

/** What deleting an account takes with it, said before it is done. */
export interface DeletionPreview {
  user: User;
  passkeys: number;
  phones: number;
}

export type UserStatus = 'active' | 'disabled' | 'closed';

/** A user as an administrator's list shows them. */
export interface UserSummary {
  id: string;
  email: string;
  displayName: string;
  emailVerified: boolean;
  /** closed: replaced by the address's proven owner (design decision 30); it never signs in again. */
  status: UserStatus;
  createdAt: number;
  passkeyCount: number;
}

export interface PasskeySummary {
  id: string;
  /** The person's name for it, else its provider's (as the account page shows it). */
  name: string;
  description: string;
  /** The model's icon (a data: URL from the FIDO metadata), if it has one. */
  icon: string | undefined;
  /** "Make and model verified · FIDO Certified L2" or "Make and model not verified". */
  attestation: string;
  aaguid: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: number;
  lastUsedAt: number | null;
  /** A security report of the FIDO metadata about its model (REVOKED …), if any. */
  mdsFlag: string | null;
  possiblyCloned: boolean;
}

export interface PhoneSummary {
  id: string;
  name: string;
  /** Whether sign-in requests can be pushed to it. */
  push: boolean;
  createdAt: number;
  lastSeenAt: number | null;
}

export interface UserDetails extends UserSummary {
  passkeys: PasskeySummary[];
  phones: PhoneSummary[];
}

export interface UserSearch {
  /** A part of the e-mail address or the name, any case. */
  query?: string;
  limit?: number;
  offset?: number;
}

export const MAX_PAGE_SIZE = 200;

/**
 * An administrator's work on a tenant's users, by user id (the console, the admin API) and by
 * e-mail address (`sesame user disable|enable|delete`). Disabling and deleting end every session
 * the person has (account page and OIDC, with their grants and tokens) and send back-channel
 * logout tokens to the clients that asked for them: "stops signing in" must include the browser
 * and the applications that are signed in right now. Every change is an audit event.
 */
export class UserAdministration {
  constructor(
    private readonly users: UserRepository,
    private readonly credentials: CredentialRepository,
    private readonly devices: PassportDeviceRepository,
    private readonly sessions: SessionEnder,
    private readonly recovery: RecoveryService,
    private readonly audit: AuditLog,
    private readonly metadata?: Pick<MetadataService, 'entryFor'>,
  ) {}

  async search(tenantId: string, search: UserSearch = {}): Promise<{ users: UserSummary[]; total: number; limit: number; offset: number }> {
    const limit = Math.min(Math.max(search.limit ?? 50, 1), MAX_PAGE_SIZE);
    const offset = Math.max(search.offset ?? 0, 0);
    const query = search.query?.trim() || undefined;
    const { users, total } = await this.users.search(tenantId, { query, limit, offset });
    return { users: users.map((u) => userSummary(u, u.credentialCount)), total, limit, offset };
  }

  async get(tenantId: string, userId: string): Promise<UserDetails> {
    const user = await this.requireUser(tenantId, userId);
    const passkeys = await this.credentials.listByUser(tenantId, user.id);
    const phones = await this.devices.listByUser(tenantId, user.id);
    return {
      ...userSummary(user, passkeys.length),
      passkeys: passkeys.map((p) => ({
        id: p.id,
        ...describePasskey(p, this.metadata?.entryFor(p.aaguid)),
        aaguid: p.aaguid,
        deviceType: p.deviceType,
        backedUp: p.backedUp,
        createdAt: p.createdAt,
        lastUsedAt: p.lastUsedAt,
        mdsFlag: p.mdsFlag ?? null,
        possiblyCloned: p.possiblyCloned ?? false,
      })),
      phones: phones.map((d) => ({ id: d.id, name: d.name, push: d.pushSubscription !== null, createdAt: d.createdAt, lastSeenAt: d.lastSeenAt })),
    };
  }

  async disableUser(tenantId: string, userId: string, now = Date.now()): Promise<User> {
    const user = await this.requireUser(tenantId, userId);
    if (user.closed) throw badRequest(`${user.email} was closed for the address's owner; it cannot be changed.`, 'account_closed');
    if (user.disabled) throw badRequest(`${user.email} is already disabled.`, 'already_disabled');
    await this.users.setDisabled(tenantId, user.id, now);
    await this.sessions.endSessionsOfUser(tenantId, user.id);
    await this.audit.record({ type: 'admin.user_disabled', tenantId, userId: user.id, email: user.email });
    return user;
  }

  async enableUser(tenantId: string, userId: string): Promise<User> {
    const user = await this.requireUser(tenantId, userId);
    if (user.closed) throw badRequest(`${user.email} was closed for the address's owner; it cannot be enabled.`, 'account_closed');
    if (!user.disabled) throw badRequest(`${user.email} is not disabled.`, 'not_disabled');
    await this.users.setDisabled(tenantId, user.id, null);
    await this.audit.record({ type: 'admin.user_enabled', tenantId, userId: user.id, email: user.email });
    return user;
  }

  async previewUserDeletion(tenantId: string, userId: string): Promise<DeletionPreview> {
    const user = await this.requireUser(tenantId, userId);
    const passkeys = (await this.credentials.listByUser(tenantId, user.id)).length;
    const phones = (await this.devices.listByUser(tenantId, user.id)).length;
    return { user, passkeys, phones };
  }

  async deleteUser(tenantId: string, userId: string): Promise<DeletionPreview> {
    const preview = await this.previewUserDeletion(tenantId, userId);
    // Sessions first: they are found through the passkeys, which the deletion removes.
    await this.sessions.endSessionsOfUser(tenantId, preview.user.id);
    await this.users.deleteWithEverything(tenantId, preview.user.id);
    await this.audit.record({ type: 'admin.user_deleted', tenantId, userId: preview.user.id, email: preview.user.email, detail: { passkeys: preview.passkeys, phones: preview.phones } });
    return preview;
  }

  /** A one-time link (15 minutes) to a new passkey, for the administrator to hand over on a channel they trust. */
  async createRecoveryLink(tenantId: string, userId: string): Promise<{ link: string; expiresAt: number; user: User }> {
    const created = await this.recovery.createAdminLinkFor(await this.requireUser(tenantId, userId));
    await this.audit.record({ type: 'admin.recovery_link_created', tenantId, userId, email: created.user.email, detail: { expiresAt: new Date(created.expiresAt).toISOString() } });
    return created;
  }

  /** The same link, mailed to the person's own address: the administrator never sees it. */
  async sendRecoveryLink(tenantId: string, userId: string): Promise<{ expiresAt: number; sentTo: string }> {
    const user = await this.requireUser(tenantId, userId);
    const sent = await this.recovery.mailAdminLink(user);
    await this.audit.record({ type: 'admin.recovery_link_sent', tenantId, userId, email: user.email, detail: { expiresAt: new Date(sent.expiresAt).toISOString() } });
    return sent;
  }

  /** The account with this address (a disabled one too), for the commands that name people by address. */
  async findByEmail(tenantId: string, email: string): Promise<User> {
    const user = await this.users.findByEmail(tenantId, email.trim().toLowerCase());
    if (!user) throw notFound(`Tenant "${tenantId}" has no user with the e-mail address ${email}.`, 'unknown_account');
    return user;
  }

  async disable(tenantId: string, email: string, now = Date.now()): Promise<User> {
    return this.disableUser(tenantId, (await this.findByEmail(tenantId, email)).id, now);
  }

  async enable(tenantId: string, email: string): Promise<User> {
    return this.enableUser(tenantId, (await this.findByEmail(tenantId, email)).id);
  }

  async previewDeletion(tenantId: string, email: string): Promise<DeletionPreview> {
    return this.previewUserDeletion(tenantId, (await this.findByEmail(tenantId, email)).id);
  }

  async delete(tenantId: string, email: string): Promise<DeletionPreview> {
    return this.deleteUser(tenantId, (await this.findByEmail(tenantId, email)).id);
  }

  private async requireUser(tenantId: string, userId: string): Promise<User> {
    const user = await this.users.findAnyById(tenantId, userId);
    if (!user) throw notFound(`Tenant "${tenantId}" has no user with the id ${userId}.`, 'unknown_user');
    return user;
  }
}

function userSummary(user: User, passkeyCount: number): UserSummary {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    emailVerified: user.emailVerified,
    status: user.closed ? 'closed' : user.disabled ? 'disabled' : 'active',
    createdAt: user.createdAt,
    passkeyCount,
  };
}
