import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export type RecoveryMethod = 'email_code' | 'recovery_code' | 'admin_link';

export interface Recovery {
  id: string;
  tenantId: string;
  userId: string;
  method: RecoveryMethod;
  binding: string;
  ip: string;
  userAgent: string;
  startedAt: number;
  expiresAt: number;
  credentialId: string | null;
  finishedAt: number | null;
}

/**
 * Account recovery's rows. Every rule of single use is one conditional UPDATE, so that of any
 * number of concurrent attempts on any node exactly one wins.
 */
export class RecoveryRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** A new e-mail code replaces the ones asked for earlier on the same page, so only the newest works. */
  async replaceEmailRequest(row: { id: string; tenantId: string; userId: string; binding: string; secretHash: string; createdAt: number; expiresAt: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_requests').where('tenant_id', '=', row.tenantId).where('user_id', '=', row.userId)
        .where('kind', '=', 'email').where('binding', '=', row.binding).execute();
      await trx.insertInto('recovery_requests').values({
        id: row.id, tenant_id: row.tenantId, user_id: row.userId, kind: 'email', binding: row.binding,
        secret_hash: row.secretHash, attempts: 0, created_at: row.createdAt, expires_at: row.expiresAt, used_at: null,
      }).execute();
    });
  }

  async insertLink(row: { id: string; tenantId: string; userId: string; secretHash: string; createdAt: number; expiresAt: number }): Promise<void> {
    await this.db.insertInto('recovery_requests').values({
      id: row.id, tenant_id: row.tenantId, user_id: row.userId, kind: 'link', binding: null,
      secret_hash: row.secretHash, attempts: 0, created_at: row.createdAt, expires_at: row.expiresAt, used_at: null,
    }).execute();
  }

  /** The live e-mail request of this user on this sign-in page. */
  async findEmailRequest(tenantId: string, userId: string, binding: string, now: number): Promise<{ id: string } | undefined> {
    return this.db.selectFrom('recovery_requests').select('id')
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('kind', '=', 'email').where('binding', '=', binding)
      .where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Takes one of the request's attempts; false when none are left (or it expired, or was used). */
  async takeAttempt(id: string, maxAttempts: number, now: number): Promise<boolean> {
    const result = await this.db.updateTable('recovery_requests').set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id).where('attempts', '<', maxAttempts).where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Marks the request used if the secret is its own and it is still live: true for exactly one caller. */
  async useRequest(id: string, secretHash: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('recovery_requests').set({ used_at: now })
      .where('id', '=', id).where('secret_hash', '=', secretHash).where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Uses an administrator's link by its secret; answers whose it was, once. */
  async useLink(tenantId: string, secretHash: string, now: number): Promise<string | undefined> {
    return (await this.db.updateTable('recovery_requests').set({ used_at: now })
      .where('tenant_id', '=', tenantId).where('kind', '=', 'link').where('secret_hash', '=', secretHash)
      .where('used_at', 'is', null).where('expires_at', '>', now)
      .returning('user_id')
      .executeTakeFirst())?.user_id;
  }

  async replaceCodes(tenantId: string, userId: string, hashes: string[], now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_codes').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
      await trx.insertInto('recovery_codes').values(hashes.map((code_hash) => ({ tenant_id: tenantId, user_id: userId, code_hash, created_at: now, used_at: null }))).execute();
    });
  }

  async useCode(tenantId: string, userId: string, codeHash: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('recovery_codes').set({ used_at: now })
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('code_hash', '=', codeHash).where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async codeStatus(tenantId: string, userId: string): Promise<{ left: number; createdAt: number } | undefined> {
    const rows = await this.db.selectFrom('recovery_codes').select(['created_at', 'used_at'])
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
    if (rows.length === 0) return undefined;
    return { left: rows.filter((r) => r.used_at === null).length, createdAt: Number(rows[0]!.created_at) };
  }

  async insertRecovery(recovery: Recovery): Promise<void> {
    await this.db.insertInto('recoveries').values({
      id: recovery.id, tenant_id: recovery.tenantId, user_id: recovery.userId, method: recovery.method, binding: recovery.binding,
      ip: recovery.ip, user_agent: recovery.userAgent, started_at: recovery.startedAt, expires_at: recovery.expiresAt,
      credential_id: recovery.credentialId, finished_at: recovery.finishedAt,
    }).execute();
  }

  /** The open recovery of this binding (the newest, if a person started twice). */
  async findOpen(tenantId: string, binding: string, now: number): Promise<Recovery | undefined> {
    const row = await this.db.selectFrom('recoveries').selectAll()
      .where('tenant_id', '=', tenantId).where('binding', '=', binding).where('finished_at', 'is', null).where('expires_at', '>', now)
      .orderBy('started_at', 'desc').executeTakeFirst();
    return row && toRecovery(row);
  }

  async setCredential(id: string, credentialId: string): Promise<boolean> {
    const result = await this.db.updateTable('recoveries').set({ credential_id: credentialId })
      .where('id', '=', id).where('credential_id', 'is', null).where('finished_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async finish(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('recoveries').set({ finished_at: now })
      .where('id', '=', id).where('credential_id', 'is not', null).where('finished_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async listRecoveries(tenantId: string, userId: string): Promise<Recovery[]> {
    const rows = await this.db.selectFrom('recoveries').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId).orderBy('started_at').execute();
    return rows.map(toRecovery);
  }

  async purgeExpired(now: number): Promise<void> {
    await this.db.deleteFrom('recovery_requests').where('expires_at', '<', now).execute();
  }
}

function toRecovery(row: Schema['recoveries']): Recovery {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    method: row.method as RecoveryMethod,
    binding: row.binding,
    ip: row.ip,
    userAgent: row.user_agent,
    startedAt: Number(row.started_at),
    expiresAt: Number(row.expires_at),
    credentialId: row.credential_id,
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
