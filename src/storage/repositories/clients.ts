import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import { sealedColumn } from '../../secrets/sealed-columns.js';
import { announceChange, readThrough } from '../read-cache.js';

const cacheKey = (tenantId: string, clientId: string) => `client:${tenantId}:${clientId}`;

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export interface PublicJwks {
  keys: Array<Record<string, unknown>>;
}

/**
 * How a client authenticates at the token endpoint, and what Sesame keeps to check it:
 * - client_secret_basic / client_secret_post: only the secret's hash (src/secrets/client-secret.ts);
 * - client_secret_jwt: the secret itself, because it is the HMAC key of the client's assertions
 *   (stored encrypted, held in the clear only in memory);
 * - private_key_jwt: the client's public keys, inline or at a URL.
 */
export type ClientAuth =
  | { method: 'client_secret_basic' | 'client_secret_post'; secretHash: string }
  | { method: 'client_secret_jwt'; secret: string }
  | { method: 'private_key_jwt'; jwks: PublicJwks; jwksUri?: undefined }
  | { method: 'private_key_jwt'; jwksUri: string; jwks?: undefined };

/** A registered client as stored. */
export interface ClientRecord {
  tenantId: string;
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  requirePkce: boolean;
  createdAt: number;
  auth: ClientAuth;
  /** Where OIDC Back-Channel Logout tokens are posted when the user's session ends; none when absent. */
  backchannelLogoutUri?: string | null;
  /** Ids of the groups whose members alone may sign in to this client; empty or absent: everyone. */
  allowedGroups?: string[];
}

/**
 * A client just registered: the record and its secret in the clear, which is shown once and never
 * stored ('' for private_key_jwt clients, which have no secret).
 */
export interface Client extends ClientRecord {
  clientSecret: string;
}

/** `find` reads through the database's ReadCache: every write here announces the client as changed. */
export class ClientRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly secrets: SecretBox) {}

  async insert(client: ClientRecord): Promise<void> {
    const { auth } = client;
    await this.db.insertInto('clients').values({
      tenant_id: client.tenantId,
      client_id: client.clientId,
      client_secret: this.storedSecret(client),
      name: client.name,
      redirect_uris: JSON.stringify(client.redirectUris),
      post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
      require_pkce: client.requirePkce ? 1 : 0,
      created_at: client.createdAt,
      auth_method: auth.method,
      jwks: auth.method === 'private_key_jwt' && auth.jwks ? JSON.stringify(auth.jwks) : null,
      jwks_uri: auth.method === 'private_key_jwt' && auth.jwksUri ? auth.jwksUri : null,
      backchannel_logout_uri: client.backchannelLogoutUri ?? null,
      allowed_groups: JSON.stringify(client.allowedGroups ?? []),
    }).execute();
  }

  /** Replaces the stored secret: its hash (client_secret_basic/post) or, sealed, the secret itself (client_secret_jwt). */
  async replaceSecret(client: ClientRecord, secret: string, hash: (s: string) => string): Promise<void> {
    const stored = client.auth.method === 'client_secret_jwt'
      ? this.secrets.seal(secret, sealedColumn.clientSecret(client.tenantId, client.clientId))
      : hash(secret);
    await this.db.updateTable('clients').set({ client_secret: stored })
      .where('tenant_id', '=', client.tenantId).where('client_id', '=', client.clientId).execute();
    await announceChange(this.db, cacheKey(client.tenantId, client.clientId));
  }

  async setRedirectUris(tenantId: string, clientId: string, redirectUris: string[], postLogoutRedirectUris: string[]): Promise<void> {
    await this.db.updateTable('clients')
      .set({ redirect_uris: JSON.stringify(redirectUris), post_logout_redirect_uris: JSON.stringify(postLogoutRedirectUris) })
      .where('tenant_id', '=', tenantId).where('client_id', '=', clientId).execute();
    await announceChange(this.db, cacheKey(tenantId, clientId));
  }

  /** Sets where back-channel logout tokens go (null: none) and which groups may sign in ([]: everyone). */
  async setAccess(tenantId: string, clientId: string, access: { backchannelLogoutUri: string | null; allowedGroups: string[] }): Promise<void> {
    await this.db.updateTable('clients')
      .set({ backchannel_logout_uri: access.backchannelLogoutUri, allowed_groups: JSON.stringify(access.allowedGroups) })
      .where('tenant_id', '=', tenantId).where('client_id', '=', clientId).execute();
    await announceChange(this.db, cacheKey(tenantId, clientId));
  }

  /** Deletes the client; its codes and tokens stop working, because oidc-provider no longer finds the client they name. */
  async delete(tenantId: string, clientId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('clients').where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    await announceChange(this.db, cacheKey(tenantId, clientId));
    return Number(result.numDeletedRows) > 0;
  }

  /** Replaces the secret hash of a client_secret_basic/post client. */
  async setSecretHash(tenantId: string, clientId: string, secretHash: string): Promise<void> {
    await this.db.updateTable('clients').set({ client_secret: secretHash })
      .where('tenant_id', '=', tenantId).where('client_id', '=', clientId)
      .where('auth_method', 'in', ['client_secret_basic', 'client_secret_post']).execute();
    await announceChange(this.db, cacheKey(tenantId, clientId));
  }

  async listByTenant(tenantId: string): Promise<ClientRecord[]> {
    const rows = await this.db.selectFrom('clients').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
    return rows.map((row) => this.toClient(row));
  }

  async find(tenantId: string, clientId: string): Promise<ClientRecord | undefined> {
    const row = await readThrough(this.db, cacheKey(tenantId, clientId), () => this.db.selectFrom('clients').selectAll()
      .where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst());
    return row && this.toClient(row);
  }

  private storedSecret(client: ClientRecord): string {
    const { auth } = client;
    switch (auth.method) {
      case 'client_secret_basic':
      case 'client_secret_post':
        return auth.secretHash;
      case 'client_secret_jwt':
        return this.secrets.seal(auth.secret, sealedColumn.clientSecret(client.tenantId, client.clientId));
      case 'private_key_jwt':
        return '';
    }
  }

  private toClient(row: Schema['clients']): ClientRecord {
    return {
      tenantId: row.tenant_id,
      clientId: row.client_id,
      name: row.name,
      redirectUris: JSON.parse(row.redirect_uris),
      postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris),
      requirePkce: Boolean(row.require_pkce),
      createdAt: Number(row.created_at),
      auth: this.toAuth(row),
      backchannelLogoutUri: row.backchannel_logout_uri,
      allowedGroups: JSON.parse(row.allowed_groups) as string[],
    };
  }

  private toAuth(row: Schema['clients']): ClientAuth {
    const method = row.auth_method as ClientAuthMethod;
    switch (method) {
      case 'client_secret_basic':
      case 'client_secret_post':
        return { method, secretHash: row.client_secret };
      case 'client_secret_jwt':
        return { method, secret: this.secrets.open(row.client_secret, sealedColumn.clientSecret(row.tenant_id, row.client_id)) };
      case 'private_key_jwt':
        // insert() stores exactly one of the two.
        return row.jwks_uri ? { method, jwksUri: row.jwks_uri } : { method, jwks: JSON.parse(row.jwks as string) };
      default:
        throw new Error(`Client ${row.client_id} has an unknown authentication method "${row.auth_method}".`);
    }
  }
}
