import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface Client {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  requirePkce: boolean;
  createdAt: number;
}

export class ClientRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(client: Client): Promise<void> {
    await this.db.insertInto('clients').values({
      tenant_id: client.tenantId,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      name: client.name,
      redirect_uris: JSON.stringify(client.redirectUris),
      post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
      require_pkce: client.requirePkce ? 1 : 0,
      created_at: client.createdAt,
    }).execute();
  }

  async listByTenant(tenantId: string): Promise<Client[]> {
    const rows = await this.db.selectFrom('clients').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
    return rows.map(toClient);
  }

  async find(tenantId: string, clientId: string): Promise<Client | undefined> {
    const row = await this.db.selectFrom('clients').selectAll()
      .where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    return row && toClient(row);
  }
}

function toClient(row: Schema['clients']): Client {
  return {
    tenantId: row.tenant_id,
    clientId: row.client_id,
    clientSecret: row.client_secret,
    name: row.name,
    redirectUris: JSON.parse(row.redirect_uris),
    postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris),
    requirePkce: Boolean(row.require_pkce),
    createdAt: Number(row.created_at),
  };
}
