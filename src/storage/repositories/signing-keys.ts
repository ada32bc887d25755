import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import { sealedColumn } from '../../secrets/sealed-columns.js';

export interface SigningKey {
  tenantId: string;
  kid: string;
  alg: string;
  privateJwk: Record<string, unknown>;
  createdAt: number;
  activatesAt: number;
}

/** Signing keys; the private JWK is stored encrypted (SecretBox). */
export class SigningKeyRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly secrets: SecretBox) {}

  async insert(key: SigningKey): Promise<void> {
    await this.db.insertInto('signing_keys').values({
      tenant_id: key.tenantId,
      kid: key.kid,
      alg: key.alg,
      private_jwk: this.secrets.seal(JSON.stringify(key.privateJwk), sealedColumn.privateJwk(key.tenantId, key.kid)),
      created_at: key.createdAt,
      activates_at: key.activatesAt,
    }).execute();
  }

  async listByTenant(tenantId: string): Promise<SigningKey[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().where('tenant_id', '=', tenantId)
      .orderBy('activates_at', 'desc').execute();
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      kid: row.kid,
      alg: row.alg,
      privateJwk: JSON.parse(this.secrets.open(row.private_jwk, sealedColumn.privateJwk(row.tenant_id, row.kid))),
      createdAt: Number(row.created_at),
      activatesAt: Number(row.activates_at),
    }));
  }

  async deleteKeys(tenantId: string, kids: string[]): Promise<void> {
    if (kids.length === 0) return;
    await this.db.deleteFrom('signing_keys').where('tenant_id', '=', tenantId).where('kid', 'in', kids).execute();
  }
}
