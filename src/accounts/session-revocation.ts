import type { ProviderRegistry } from '../oidc/provider-registry.js';
import type { SessionRepository } from '../storage/repositories/sessions.js';
import type { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import type { PasskeyService } from './passkey-service.js';

/** oidc-provider models whose rows are bearer tokens issued under a grant. */
const TOKEN_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'] as const;

/**
 * Removing a passkey ends everything it opened: a person removes a passkey because the device is
 * lost, sold or not theirs, and whoever holds it must not stay signed in. That is the account-page
 * sessions it opened, the OIDC sessions it signed in (and the grants, refresh and access tokens
 * issued under them), and a Passport phone whose approvals it signs.
 */
export class PasskeyRemoval {
  constructor(
    private readonly passkeys: PasskeyService,
    private readonly sessions: SessionRepository,
    private readonly devices: PassportDeviceRepository,
    private readonly registry: ProviderRegistry,
  ) {}

  async remove(tenantId: string, userId: string, credentialId: string): Promise<void> {
    await this.passkeys.removePasskey(tenantId, userId, credentialId);
    await this.endEverythingOpenedBy(tenantId, credentialId);
  }

  private async endEverythingOpenedBy(tenantId: string, credentialId: string): Promise<void> {
    await this.devices.deleteByCredential(tenantId, credentialId);
    const sessionUids = await this.sessions.takeSessionsOf(tenantId, credentialId);
    if (sessionUids.length === 0) return;
    const oidc = await this.registry.get(tenantId);
    if (!oidc) return;
    const { provider } = oidc;
    for (const uid of sessionUids) {
      const session = await provider.Session.findByUid(uid);
      if (!session) continue;
      for (const { grantId } of Object.values(session.authorizations ?? {})) {
        if (!grantId) continue;
        for (const model of TOKEN_MODELS) await provider[model].adapter.revokeByGrantId(grantId);
        await (await provider.Grant.find(grantId))?.destroy();
      }
      await session.destroy();
    }
  }
}
