import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

/**
 * How stale `last_seen_at` may get before a sign-in writes it again. A sign-in from a browser seen
 * this recently only reads its row: the write (a synced commit on SQLite) was one of the
 * costliest steps of a sign-in, and "not seen for 90 days" does not need the exact hour.
 */
export const LAST_SEEN_GRANULARITY_MS = 24 * 3600 * 1000;

/** Browsers (name and system, hashed) each user signed in from, and when last (to within a day). */
export class UserDeviceRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Records a sign-in from `deviceKey` and says whether it is new: never seen for this user, or not
   * since `staleBefore`. The writes are single statements, so two sign-ins at once from a new
   * browser report it once.
   */
  async recordSignIn(tenantId: string, userId: string, deviceKey: string, now: number, staleBefore: number): Promise<boolean> {
    const seen = await this.db.selectFrom('user_devices').select('last_seen_at')
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('device_key', '=', deviceKey)
      .executeTakeFirst();
    if (seen && Number(seen.last_seen_at) >= Math.max(staleBefore, now - LAST_SEEN_GRANULARITY_MS)) return false;
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
