import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';

/** Tables of migration 0019_uaf (beside their repository; part of the Schema: devices and users delete keys too). */
export interface UafTables {
  uaf_challenges: { id: string; tenant_id: string; op: string; challenge: string; payload: string; expires_at: number; consumed_at: number | null };
  uaf_registrations: {
    tenant_id: string; aaid: string; key_id: string; user_id: string; public_key: string; signature_alg: number; sign_counter: number;
    attestation_type: string; attestation_trusted: number; created_at: number; last_used_at: number | null;
  };
}

export interface UafChallenge {
  id: string;
  tenantId: string;
  op: 'Reg' | 'Auth' | 'Dereg';
  challenge: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

export interface UafRegistration {
  tenantId: string;
  aaid: string;
  keyId: string;
  userId: string;
  publicKey: Buffer;
  signatureAlg: number;
  signCounter: number;
  attestationType: string;
  attestationTrusted: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

export class UafRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insertChallenge(c: UafChallenge): Promise<void> {
    await this.db.insertInto('uaf_challenges').values({
      id: c.id, tenant_id: c.tenantId, op: c.op, challenge: c.challenge, payload: JSON.stringify(c.payload), expires_at: c.expiresAt, consumed_at: null,
    }).execute();
  }

  /**
   * Marks the challenge used and returns it; undefined when unknown, of another tenant or
   * operation, expired or already used. The conditional UPDATE is the single-use rule: of
   * concurrent redemptions exactly one changes the row.
   */
  async consumeChallenge(id: string, tenantId: string, op: UafChallenge['op'], now: number): Promise<UafChallenge | undefined> {
    const result = await this.db.updateTable('uaf_challenges').set({ consumed_at: now })
      .where('id', '=', id).where('tenant_id', '=', tenantId).where('op', '=', op)
      .where('consumed_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return undefined;
    const row = await this.db.selectFrom('uaf_challenges').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { id: row.id, tenantId: row.tenant_id, op: row.op as UafChallenge['op'], challenge: row.challenge, payload: JSON.parse(row.payload), expiresAt: Number(row.expires_at) };
  }

  async deleteExpiredChallenges(before: number): Promise<void> {
    await this.db.deleteFrom('uaf_challenges').where('expires_at', '<', before).execute();
  }

  /** False when the tenant already has this AAID and KeyID (the key is not registered twice). */
  async insertRegistration(r: UafRegistration): Promise<boolean> {
    await this.db.insertInto('uaf_registrations').values({
      tenant_id: r.tenantId, aaid: r.aaid, key_id: r.keyId, user_id: r.userId, public_key: r.publicKey.toString('base64url'),
      signature_alg: r.signatureAlg, sign_counter: r.signCounter, attestation_type: r.attestationType, attestation_trusted: r.attestationTrusted ? 1 : 0,
      created_at: r.createdAt, last_used_at: null,
    }).onConflict((oc) => oc.columns(['tenant_id', 'aaid', 'key_id']).doNothing()).execute();
    const stored = await this.find(r.tenantId, r.aaid, r.keyId);
    return stored?.userId === r.userId && stored.createdAt === r.createdAt;
  }

  async find(tenantId: string, aaid: string, keyId: string): Promise<UafRegistration | undefined> {
    const row = await this.db.selectFrom('uaf_registrations').selectAll()
      .where('tenant_id', '=', tenantId).where('aaid', '=', aaid).where('key_id', '=', keyId).executeTakeFirst();
    return row && toRegistration(row);
  }

  async listByUser(tenantId: string, userId: string): Promise<UafRegistration[]> {
    const rows = await this.db.selectFrom('uaf_registrations').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
    return rows.map(toRegistration);
  }

  /** Moves the counter forward only if nobody else did meanwhile (a replayed or concurrent assertion loses). */
  async advanceCounter(r: UafRegistration, counter: number, now: number): Promise<boolean> {
    const result = await this.db.updateTable('uaf_registrations').set({ sign_counter: counter, last_used_at: now })
      .where('tenant_id', '=', r.tenantId).where('aaid', '=', r.aaid).where('key_id', '=', r.keyId).where('sign_counter', '=', r.signCounter)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(tenantId: string, userId: string, match: { aaid?: string; keyId?: string }): Promise<number> {
    let query = this.db.deleteFrom('uaf_registrations').where('tenant_id', '=', tenantId).where('user_id', '=', userId);
    if (match.aaid) query = query.where('aaid', '=', match.aaid);
    if (match.keyId) query = query.where('key_id', '=', match.keyId);
    return Number((await query.executeTakeFirst()).numDeletedRows);
  }
}

function toRegistration(row: UafTables['uaf_registrations']): UafRegistration {
  return {
    tenantId: row.tenant_id, aaid: row.aaid, keyId: row.key_id, userId: row.user_id, publicKey: Buffer.from(row.public_key, 'base64url'),
    signatureAlg: Number(row.signature_alg), signCounter: Number(row.sign_counter), attestationType: row.attestation_type,
    attestationTrusted: Number(row.attestation_trusted) === 1, createdAt: Number(row.created_at), lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}
