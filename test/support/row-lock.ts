import { sql } from 'kysely';
import pg from 'pg';
import { POSTGRES_URL, type DbKind, type TestServer } from './server.js';

/**
 * Forces a race on PostgreSQL: the test holds the row lock of `lock` until `waiters` requests wait
 * for it in an UPDATE of `table` — so each of them has read the row before any of them writes it.
 * SQLite has one connection, where requests interleave between their queries; there it just fires.
 */
export async function whileRowLocked<T>(db: DbKind, server: TestServer, lock: { table: string; where: string; params: unknown[] }, waiters: number, fire: () => Promise<T>): Promise<T> {
  if (db === 'sqlite') return fire();
  const { rows: [{ schema }] } = await sql<{ schema: string }>`select current_schema() as schema`.execute(server.services.database.db);
  const connect = async () => {
    const c = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
    await c.connect();
    return c;
  };
  const [locker, watcher] = await Promise.all([connect(), connect()]);
  try {
    await locker.query('begin');
    await locker.query(`select 1 from ${lock.table} where ${lock.where} for update`, lock.params);
    const results = fire();
    for (;;) {
      const { rows } = await watcher.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like $1
        and pid in (select pid from pg_locks where relation = $2::regclass)`, [`update "${lock.table}"%`, lock.table]);
      if (rows[0].n >= waiters) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await locker.query('commit');
    return await results;
  } finally {
    await Promise.all([locker.end(), watcher.end()]);
  }
}
