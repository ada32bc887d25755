import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export class RateLimitRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Counts one hit for `key` in the current fixed window and returns the window's count, in one
   * statement: concurrent requests on any node each get their own count, so none slips past the
   * limit. (SET expressions read the row as it was before this update, on SQLite and PostgreSQL.)
   */
  async hit(key: string, windowMs: number, now: number): Promise<number> {
    return (await this.hitAll([key], windowMs, now))[0]!;
  }

  /** `hit` for several keys with windows of the same length, in one statement (one write transaction). */
  async hitAll(keys: string[], windowMs: number, now: number): Promise<number[]> {
    const rows = await this.db.insertInto('rate_limits')
      .values(keys.map((key) => ({ key, window_start: now, hits: 1, window_ms: windowMs })))
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => {
        const windowOver = eb('rate_limits.window_start', '<=', now - windowMs);
        return {
          hits: eb.case().when(windowOver).then(1).else(eb('rate_limits.hits', '+', 1)).end(),
          // eb.val: a bare number in then() is written into the SQL text, which would make every hit a
          // statement never seen before (prepared anew, and crowding the statement cache).
          window_start: eb.case().when(windowOver).then(eb.val(now)).else(eb.ref('rate_limits.window_start')).end(),
        };
      }))
      .returning(['key', 'hits'])
      .execute();
    const hits = new Map(rows.map((row) => [row.key, Number(row.hits)]));
    return keys.map((key) => hits.get(key)!);
  }

  /** The hits counted for `key` in its current window, without counting one. */
  async peek(key: string, windowMs: number, now: number): Promise<number> {
    const row = await this.db.selectFrom('rate_limits').select(['hits', 'window_start']).where('key', '=', key).executeTakeFirst();
    return row && Number(row.window_start) > now - windowMs ? Number(row.hits) : 0;
  }

  /** Rows whose window is over (each row knows its own window's length). */
  async purgeEnded(now: number): Promise<void> {
    await this.db.deleteFrom('rate_limits').where((eb) => eb(eb('window_start', '+', eb.ref('window_ms')), '<', now)).execute();
  }
}
