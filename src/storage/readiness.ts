import os from 'node:os';
import { sql } from 'kysely';
import type { Database } from './db.js';
import { pendingMigrations } from './migrations.js';

export type CheckName = 'database' | 'writable' | 'migrations' | 'listen';
export interface CheckResult { ok: boolean; message?: string }

/** Each check answers within this time or counts as failed, so /readyz answers within 2 s. */
const CHECK_TIMEOUT_MS = 1_500;
const NODE = os.hostname();

/**
 * What a load balancer needs to know before sending traffic here: the database answers, accepts
 * a write (a full disk or a read-only volume still answers reads), has every migration this code
 * expects, and (PostgreSQL) the LISTEN connection that wakes waiting pages is up.
 */
export async function checkDatabase(database: Database): Promise<Record<CheckName, CheckResult>> {
  const { db } = database;
  const [reachable, writable, migrations] = await Promise.all([
    withinLimit(async () => { await sql`select 1`.execute(db); }),
    withinLimit(async () => {
      await sql`insert into readiness_probe (node, checked_at) values (${NODE}, ${Date.now()})
        on conflict (node) do update set checked_at = excluded.checked_at`.execute(db);
    }),
    withinLimit(async () => {
      const pending = await pendingMigrations(db, { secrets: database.secrets }, database.schema);
      if (pending.length) throw new Error(`migrations not applied: ${pending.join(', ')}`);
    }),
  ]);
  return {
    database: reachable,
    writable,
    migrations,
    listen: database.pubsub.connected ? { ok: true } : { ok: false, message: 'the LISTEN connection is down (reconnecting)' },
  };
}

async function withinLimit(check: () => Promise<void>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true };
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return { ok: false, message: code && !String(message).includes(code) ? `${code}: ${message}` : String(message) };
  } finally {
    clearTimeout(timer);
  }
}
