import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

/** Browsers (name and system, hashed) each user signed in from, and when last. */
export class UserDeviceRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Records a sign-in from `deviceKey` and says whether it is new: never seen for this user, or not
   * since `staleBefore`. One statement, so two sign-ins at once from a new browser report it once.
   */
  async recordSignIn(tenantId: string, userId: string, deviceKey: string, now: number, staleBefore: number): Promise<boolean> {
    const known = await this.db.updateTable('user_devices').set({ last_seen_at: now })
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('device_key', '=', deviceKey)
      .where('last_seen_at', '>=', staleBefore)
      .executeTakeFirst();
    if (Number(known.numUpdatedRows) === 1) return false;
    const result = await this.db.insertInto('user_devices')
      .values({ tenant_id: tenantId, user_id: userId, device_key: deviceKey, last_seen_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id', 'device_key']).doUpdateSet({ last_seen_at: now })
        .where('user_devices.last_seen_at', '<', staleBefore))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
