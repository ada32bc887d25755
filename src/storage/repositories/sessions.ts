import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import { currentBatch } from '../write-batch.js';

export interface AccountSessionRecord {
  idHash: string;
  tenantId: string;
  userId: string;
  credentialId: string;
  expiresAt: number;
}

/** Account-page sessions and the passkey behind each OIDC session. */
export class SessionRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insertAccountSession(s: AccountSessionRecord): Promise<void> {
    await this.db.insertInto('account_sessions').values({
      id_hash: s.idHash, tenant_id: s.tenantId, user_id: s.userId, credential_id: s.credentialId, expires_at: s.expiresAt,
    }).execute();
  }

  async findAccountSession(tenantId: string, idHash: string, now: number): Promise<AccountSessionRecord | undefined> {
    const row = await this.db.selectFrom('account_sessions').selectAll()
      .where('id_hash', '=', idHash).where('tenant_id', '=', tenantId).where('expires_at', '>', now)
      .executeTakeFirst();
    return row && { idHash: row.id_hash, tenantId: row.tenant_id, userId: row.user_id, credentialId: row.credential_id, expiresAt: Number(row.expires_at) };
  }

  async deleteAccountSession(tenantId: string, idHash: string): Promise<void> {
    await this.db.deleteFrom('account_sessions').where('id_hash', '=', idHash).where('tenant_id', '=', tenantId).execute();
  }

  /** Written with the request's other writes when it has a write batch (the OIDC session it records is too). */
  async recordOidcSession(tenantId: string, sessionUid: string, credentialId: string, expiresAt: number): Promise<void> {
    const write = (db: Kysely<Schema>) => db.insertInto('oidc_session_credentials')
      .values({ tenant_id: tenantId, session_uid: sessionUid, credential_id: credentialId, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['tenant_id', 'session_uid']).doUpdateSet({ credential_id: credentialId, expires_at: expiresAt }))
      .execute();
    if (!currentBatch(this.db)?.defer(write)) await write(this.db);
  }

  /**
   * Forgets every session the passkey opened: account-page sessions (but `keepIdHash`) are deleted
   * here; the uids of its OIDC sessions are returned (and forgotten) for the caller to end them.
   */
  async takeSessionsOf(tenantId: string, credentialId: string, keepIdHash: string): Promise<string[]> {
    await this.db.deleteFrom('account_sessions')
      .where('tenant_id', '=', tenantId).where('credential_id', '=', credentialId).where('id_hash', '!=', keepIdHash)
      .execute();
    const rows = await this.db.deleteFrom('oidc_session_credentials')
      .where('tenant_id', '=', tenantId).where('credential_id', '=', credentialId)
      .returning('session_uid').execute();
    return rows.map((r) => r.session_uid);
  }

  /** Forgets every session of the user's passkeys, as takeSessionsOf does for one (none kept). */
  async takeSessionsOfUser(tenantId: string, userId: string): Promise<string[]> {
    await this.db.deleteFrom('account_sessions').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
    const rows = await this.db.deleteFrom('oidc_session_credentials')
      .where('tenant_id', '=', tenantId)
      .where('credential_id', 'in', (eb) => eb.selectFrom('credentials').select('id').where('tenant_id', '=', tenantId).where('user_id', '=', userId))
      .returning('session_uid').execute();
    return rows.map((r) => r.session_uid);
  }

  async purgeExpired(now: number): Promise<void> {
    await this.db.deleteFrom('account_sessions').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('oidc_session_credentials').where('expires_at', '<=', now).execute();
  }
}
