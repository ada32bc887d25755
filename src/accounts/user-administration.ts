import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { SessionRepository } from '../storage/repositories/sessions.js';
import type { User, UserRepository } from '../storage/repositories/users.js';
import type { CredentialRepository } from '../storage/repositories/credentials.js';
import type { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import { endOidcSession } from '../oidc/adapter.js';
import { badRequest, notFound } from '../errors.js';

/** What deleting an account takes with it, said before it is done. */
export interface DeletionPreview {
  user: User;
  passkeys: number;
  phones: number;
}

/**
 * An administrator's `sesame user disable|enable|delete`. Disabling and deleting end every session
 * the person has (account page and OIDC, with their grants and tokens): "stops signing in" must
 * include the browser that is signed in right now.
 */
export class UserAdministration {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly users: UserRepository,
    private readonly credentials: CredentialRepository,
    private readonly devices: PassportDeviceRepository,
    private readonly sessions: SessionRepository,
  ) {}

  async disable(tenantId: string, email: string, now = Date.now()): Promise<User> {
    const user = await this.find(tenantId, email);
    if (user.disabled) throw badRequest(`${user.email} is already disabled.`, 'already_disabled');
    await this.users.setDisabled(tenantId, user.id, now);
    await this.endSessions(tenantId, user.id);
    return user;
  }

  async enable(tenantId: string, email: string): Promise<User> {
    const user = await this.find(tenantId, email);
    if (!user.disabled) throw badRequest(`${user.email} is not disabled.`, 'not_disabled');
    await this.users.setDisabled(tenantId, user.id, null);
    return user;
  }

  async previewDeletion(tenantId: string, email: string): Promise<DeletionPreview> {
    const user = await this.find(tenantId, email);
    const passkeys = (await this.credentials.listByUser(tenantId, user.id)).length;
    const phones = (await this.devices.listByUser(tenantId, user.id)).length;
    return { user, passkeys, phones };
  }

  async delete(tenantId: string, email: string): Promise<DeletionPreview> {
    const preview = await this.previewDeletion(tenantId, email);
    await this.endSessions(tenantId, preview.user.id);
    await this.users.deleteWithEverything(tenantId, preview.user.id);
    return preview;
  }

  private async find(tenantId: string, email: string): Promise<User> {
    const user = await this.users.findByEmail(tenantId, email.trim().toLowerCase());
    if (!user) throw notFound(`Tenant "${tenantId}" has no user with the e-mail address ${email}.`, 'unknown_account');
    return user;
  }

  private async endSessions(tenantId: string, userId: string): Promise<void> {
    for (const uid of await this.sessions.takeSessionsOfUser(tenantId, userId)) await endOidcSession(this.db, tenantId, uid);
  }
}
