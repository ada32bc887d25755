import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { SessionRepository } from '../storage/repositories/sessions.js';
import type { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import type { PasskeyService } from './passkey-service.js';
import { endOidcSession } from '../oidc/adapter.js';

/**
 * Removing a passkey ends everything it opened: a person removes a passkey because the device is
 * lost, sold or not theirs, and whoever holds it must not stay signed in. That is the account-page
 * sessions it opened, the OIDC sessions it signed in (and the grants, refresh and access tokens
 * issued under them), and a Passport phone whose approvals it signs.
 *
 * The account-page session making the removal goes on, even when this passkey opened it: the
 * person is right there tidying up their passkeys, and ending their own page would only get in
 * their way (whoever holds a device gains nothing by removing its passkey).
 */
export class PasskeyRemoval {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly passkeys: PasskeyService,
    private readonly sessions: SessionRepository,
    private readonly devices: PassportDeviceRepository,
  ) {}

  async remove(tenantId: string, userId: string, credentialId: string, actingSession: string): Promise<void> {
    await this.passkeys.removePasskey(tenantId, userId, credentialId);
    await this.devices.deleteByCredential(tenantId, credentialId);
    const oidcSessionUids = await this.sessions.takeSessionsOf(tenantId, credentialId, actingSession);
    for (const uid of oidcSessionUids) await endOidcSession(this.db, tenantId, uid);
  }
}
