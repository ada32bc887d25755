import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface ApiTokenRecord {
  id: string;
  /** null: an operator token, valid for every tenant. */
  tenantId: string | null;
  name: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** Admin API tokens; only the SHA-256 of each token is kept. */
export class ApiTokenRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(token: ApiTokenRecord, tokenHash: string): Promise<void> {
    await this.db.insertInto('api_tokens').values({
      id: token.id, tenant_id: token.tenantId, name: token.name, token_hash: tokenHash,
      created_at: token.createdAt, expires_at: token.expiresAt, revoked_at: null, last_used_at: null,
    }).execute();
  }

  /** The token with this hash if it is neither expired nor revoked. */
  async findValid(tokenHash: string, now: number): Promise<ApiTokenRecord | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    return row && toRecord(row);
  }

  /** Notes a use, at most once a minute per token (a write per API call would be wasted). */
  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', now - 60_000)])).execute();
  }

  /** Tokens of one tenant, or with `undefined` every token (operator tokens included), newest first. */
  async list(tenantId: string | null | undefined): Promise<ApiTokenRecord[]> {
    let query = this.db.selectFrom('api_tokens').selectAll();
    if (tenantId === null) query = query.where('tenant_id', 'is', null);
    else if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
    return (await query.orderBy('created_at', 'desc').orderBy('id').execute()).map(toRecord);
  }

  async find(id: string): Promise<ApiTokenRecord | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toRecord(row: Schema['api_tokens']): ApiTokenRecord {
  return {
    id: row.id, tenantId: row.tenant_id, name: row.name, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at), lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}
