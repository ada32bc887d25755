import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface PushSubscriptionJSON {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PassportDevice {
  tenantId: string;
  id: string;
  userId: string;
  name: string;
  credentialId: string;
  tokenHash: string;
  pushSubscription: PushSubscriptionJSON | null;
  createdAt: number;
  lastSeenAt: number | null;
}

export class PassportDeviceRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(d: PassportDevice): Promise<void> {
    await this.db.insertInto('passport_devices').values({
      tenant_id: d.tenantId,
      id: d.id,
      user_id: d.userId,
      name: d.name,
      credential_id: d.credentialId,
      token_hash: d.tokenHash,
      push_subscription: d.pushSubscription && JSON.stringify(d.pushSubscription),
      created_at: d.createdAt,
      last_seen_at: d.lastSeenAt,
    }).execute();
  }

  async listByUser(tenantId: string, userId: string): Promise<PassportDevice[]> {
    const rows = await this.db.selectFrom('passport_devices').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toDevice);
  }

  async findByTokenHash(tokenHash: string): Promise<PassportDevice | undefined> {
    const row = await this.db.selectFrom('passport_devices').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toDevice(row);
  }

  async updatePushSubscription(tenantId: string, id: string, subscription: PushSubscriptionJSON | null): Promise<void> {
    await this.db.updateTable('passport_devices').set({ push_subscription: subscription && JSON.stringify(subscription) })
      .where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async touch(tenantId: string, id: string, at: number): Promise<void> {
    await this.db.updateTable('passport_devices').set({ last_seen_at: at }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  /**
   * Removes a device; a device that approved with a FIDO UAF key takes the key with it (it was
   * registered for this device alone, and a key nobody can see or remove must not stay usable).
   */
  async delete(tenantId: string, userId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const device = await trx.deleteFrom('passport_devices').where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('id', '=', id)
        .returning('credential_id').executeTakeFirst();
      if (!device) return false;
      const uaf = /^uaf:([^:]+):(.+)$/.exec(device.credential_id);
      if (uaf) {
        await trx.deleteFrom('uaf_registrations').where('tenant_id', '=', tenantId).where('user_id', '=', userId)
          .where('aaid', '=', uaf[1]!).where('key_id', '=', uaf[2]!).execute();
      }
      return true;
    });
  }

  /** Devices whose approvals are signed by this credential: they cannot work once it is removed. */
  async deleteByCredential(tenantId: string, credentialId: string): Promise<void> {
    await this.db.deleteFrom('passport_devices').where('tenant_id', '=', tenantId).where('credential_id', '=', credentialId).execute();
  }

  async insertEnrolmentToken(token: { tokenHash: string; tenantId: string; userId: string; expiresAt: number }): Promise<void> {
    await this.db.insertInto('passport_enrolment_tokens').values({ token_hash: token.tokenHash, tenant_id: token.tenantId, user_id: token.userId, expires_at: token.expiresAt, used_at: null }).execute();
  }

  /** Marks an enrolment token used and returns its user, once; undefined if unknown, expired or used. */
  async consumeEnrolmentToken(tenantId: string, tokenHash: string, now: number): Promise<string | undefined> {
    const result = await this.db.updateTable('passport_enrolment_tokens').set({ used_at: now })
      .where('token_hash', '=', tokenHash).where('tenant_id', '=', tenantId).where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return undefined;
    const row = await this.db.selectFrom('passport_enrolment_tokens').select('user_id').where('token_hash', '=', tokenHash).executeTakeFirstOrThrow();
    return row.user_id;
  }

  async deleteExpiredEnrolmentTokens(before: number): Promise<void> {
    await this.db.deleteFrom('passport_enrolment_tokens').where('expires_at', '<', before).execute();
  }

  async findEnrolmentToken(tenantId: string, tokenHash: string, now: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('passport_enrolment_tokens').select('user_id')
      .where('token_hash', '=', tokenHash).where('tenant_id', '=', tenantId).where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    return row?.user_id;
  }
}

function toDevice(row: Schema['passport_devices']): PassportDevice {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    userId: row.user_id,
    name: row.name,
    credentialId: row.credential_id,
    tokenHash: row.token_hash,
    pushSubscription: row.push_subscription ? JSON.parse(row.push_subscription) : null,
    createdAt: Number(row.created_at),
    lastSeenAt: row.last_seen_at === null ? null : Number(row.last_seen_at),
  };
}
