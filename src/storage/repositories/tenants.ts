import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface Tenant {
  id: string;
  name: string;
  cookieKeys: string[];
  createdAt: number;
  /** Where cross-device requests are announced to native apps (signed with webhookSecret). */
  webhookUrl?: string | null;
  webhookSecret?: string | null;
}

export class TenantRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(tenant: Tenant): Promise<void> {
    await this.db.insertInto('tenants').values({
      id: tenant.id,
      name: tenant.name,
      cookie_keys: JSON.stringify(tenant.cookieKeys),
      created_at: tenant.createdAt,
      webhook_url: tenant.webhookUrl ?? null,
      webhook_secret: tenant.webhookSecret ?? null,
    }).execute();
  }

  async find(id: string): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTenant(row);
  }

  async setWebhook(id: string, url: string | null, secret: string | null): Promise<void> {
    await this.db.updateTable('tenants').set({ webhook_url: url, webhook_secret: secret }).where('id', '=', id).execute();
  }

  async list(): Promise<Tenant[]> {
    const rows = await this.db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map(toTenant);
  }
}

function toTenant(row: Schema['tenants']): Tenant {
  return {
    id: row.id,
    name: row.name,
    cookieKeys: JSON.parse(row.cookie_keys),
    createdAt: Number(row.created_at),
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret,
  };
}
