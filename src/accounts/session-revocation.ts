import type { SessionRepository } from '../storage/repositories/sessions.js';
import type { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import type { PasskeyService } from './passkey-service.js';
import type { SessionTermination } from '../oidc/session-termination.js';

/**
 * Removing a passkey ends everything it opened: a person removes a passkey because the device is
 * lost, sold or not theirs, and whoever holds it must not stay signed in. That is the account-page
 * sessions it opened, the OIDC sessions it signed in (and the grants, refresh and access tokens
 * issued under them), and a Passport phone whose approvals it signs. The clients those OIDC
 * sessions had signed in to get back-channel logout tokens, as when an administrator disables
 * someone (SessionTermination).
 *
 * The account-page session making the removal goes on, even when this passkey opened it: the
 * person is right there tidying up their passkeys, and ending their own page would only get in
 * their way (whoever holds a device gains nothing by removing its passkey).
 */
export class PasskeyRemoval {
  constructor(
    private readonly passkeys: PasskeyService,
    private readonly sessions: SessionRepository,
    private readonly devices: PassportDeviceRepository,
    private readonly termination: Pick<SessionTermination, 'endSessions'>,
  ) {}

  async remove(tenantId: string, userId: string, credentialId: string, actingSession: string): Promise<void> {
    await this.passkeys.removePasskey(tenantId, userId, credentialId);
    await this.devices.deleteByCredential(tenantId, credentialId);
    await this.termination.endSessions(tenantId, userId, await this.sessions.takeSessionsOf(tenantId, credentialId, actingSession));
  }
}
