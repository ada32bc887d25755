import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface ChallengeRecord {
  id: string;
  tenantId: string;
  interactionUid: string;
  purpose: 'registration' | 'authentication';
  challenge: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

export class ChallengeRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(record: ChallengeRecord): Promise<void> {
    await this.db.insertInto('webauthn_challenges').values({
      id: record.id,
      tenant_id: record.tenantId,
      interaction_uid: record.interactionUid,
      purpose: record.purpose,
      challenge: record.challenge,
      payload: JSON.stringify(record.payload),
      expires_at: record.expiresAt,
      consumed_at: null,
    }).execute();
  }

  /**
   * Marks the challenge used and returns it, or undefined when it does not exist, belongs to
   * another tenant/interaction/purpose, expired, or was already used. The conditional UPDATE is the
   * single-use guarantee: of two concurrent attempts exactly one gets the row back.
   */
  async consume(id: string, match: { tenantId: string; interactionUid: string; purpose: string }, now: number): Promise<ChallengeRecord | undefined> {
    const row = await this.db.updateTable('webauthn_challenges').set({ consumed_at: now })
      .where('id', '=', id).where('tenant_id', '=', match.tenantId).where('interaction_uid', '=', match.interactionUid)
      .where('purpose', '=', match.purpose).where('consumed_at', 'is', null).where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      tenantId: row.tenant_id,
      interactionUid: row.interaction_uid,
      purpose: row.purpose as ChallengeRecord['purpose'],
      challenge: row.challenge,
      payload: JSON.parse(row.payload),
      expiresAt: Number(row.expires_at),
    };
  }

  async deleteExpired(before: number): Promise<void> {
    await this.db.deleteFrom('webauthn_challenges').where('expires_at', '<', before).execute();
  }
}
