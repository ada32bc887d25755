import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { SessionRepository } from '../storage/repositories/sessions.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../log.js';
import type { SessionEnder } from '../accounts/user-administration.js';
import type { ProviderRegistry } from './provider-registry.js';
import { endOidcSession, type EndedSession } from './adapter.js';

interface BackchannelClient {
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

/**
 * Ends every session of a user (or those a removed passkey opened) — account-page sessions, and
 * OIDC sessions with their grants and tokens — and then tells each client the sessions had signed in to and that registered a
 * `backchannel_logout_uri` (OIDC Back-Channel Logout 1.0): oidc-provider makes and signs the
 * logout token (`Client#backchannelLogout`, the code its own end-session endpoint uses) and posts
 * it through OutboundClient (provider-factory's `fetch`). A client that cannot be reached does not
 * stop the others or the disabling: it is logged and recorded in the audit log.
 */
export class SessionTermination implements SessionEnder {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly sessions: SessionRepository,
    private readonly registry: ProviderRegistry,
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {}

  async endSessionsOfUser(tenantId: string, userId: string): Promise<void> {
    await this.endSessions(tenantId, userId, await this.sessions.takeSessionsOfUser(tenantId, userId));
  }

  /** Ends the user's OIDC sessions with these uids (those a removed passkey opened, say) and notifies their clients. */
  async endSessions(tenantId: string, userId: string, sessionUids: string[]): Promise<void> {
    const ended: EndedSession[] = [];
    for (const uid of sessionUids) {
      const session = await endOidcSession(this.db, tenantId, uid);
      if (session) ended.push(session);
    }
    await this.notifyClients(tenantId, userId, ended);
  }

  private async notifyClients(tenantId: string, userId: string, ended: EndedSession[]): Promise<void> {
    const targets = ended.flatMap((s) => s.clients.map((c) => ({ ...c, accountId: s.accountId ?? userId })));
    if (targets.length === 0) return;
    const oidc = await this.registry.get(tenantId);
    if (!oidc) return;
    await Promise.all(targets.map(async ({ clientId, sid, accountId }) => {
      const client = await oidc.provider.Client.find(clientId);
      if (!client?.backchannelLogoutUri) return;
      try {
        // Present in oidc-provider 9 (lib/models/client.js), missing from its type definitions.
        await (client as unknown as BackchannelClient).backchannelLogout(accountId, sid ?? '');
        await this.audit.record({ type: 'logout.backchannel_sent', tenantId, userId, detail: { clientId } });
      } catch (err) {
        this.log.warn({ err, tenantId, clientId }, 'a back-channel logout token could not be delivered');
        await this.audit.record({ type: 'logout.backchannel_failed', tenantId, userId, detail: { clientId, reason: (err as Error).message.slice(0, 200) } });
      }
    }));
  }
}
