import type { Kysely } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Schema } from '../storage/schema.js';
import type { ClientRepository } from '../storage/repositories/clients.js';
import { clientMetadata } from './client-metadata.js';

/**
 * oidc-provider's storage, one instance per (tenant, model). Every model lives in the
 * `oidc_payloads` table except Client, which is read from our own `clients` table so that a client
 * created with the CLI works at once, without rebuilding the tenant's provider.
 */
export class SqlAdapter implements Adapter {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly clients: ClientRepository,
    private readonly tenantId: string,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const row = {
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
    };
    await this.db.insertInto('oidc_payloads')
      .values({ tenant_id: this.tenantId, model: this.model, id, consumed_at: null, ...row })
      .onConflict((oc) => oc.columns(['tenant_id', 'model', 'id']).doUpdateSet(row))
      .execute();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (id.includes('\u0000')) return undefined; // see findWhere
    if (this.model === 'Client') {
      const client = await this.clients.find(this.tenantId, id);
      return client && clientMetadata(client);
    }
    return this.findWhere('id', id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    await this.db.updateTable('oidc_payloads').set({ consumed_at: Date.now() })
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads')
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where('id', '=', id)
      .execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('tenant_id', '=', this.tenantId).where('grant_id', '=', grantId).execute();
  }

  private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    // Values come from requests (a token, a client_id); none that exists holds a NUL, and PostgreSQL refuses to compare one.
    if (value.includes('\u0000')) return undefined;
    const row = await this.db.selectFrom('oidc_payloads').select(['payload', 'expires_at', 'consumed_at'])
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where(column, '=', value)
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
    return payload;
  }
}

/** Removes expired rows; called periodically, never on a request path. */
export async function purgeExpiredOidcPayloads(db: Kysely<Schema>, now = Date.now()): Promise<void> {
  await db.deleteFrom('oidc_payloads').where('expires_at', '<', now).execute();
}
