/**
 * The benchmark's Sesame process: counts the SQL statements it runs, then starts Sesame as
 * src/server.ts would. Counting happens here, outside src/, by wrapping the database drivers'
 * entry points before Sesame uses them: better-sqlite3's statement runs (every statement Kysely
 * runs, BEGIN and COMMIT included, and which of them ended a write transaction), the syncs of the
 * write-ahead log (FileHandle#datasync) and pg's
 * Client#query (the pool's clients and the LISTEN one).
 * The load generator reads the counters, CPU time and RSS over the IPC channel (bench/child.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { serveStats, type StatementCounter } from './stats.js';

const statements: StatementCounter = { total: 0, bySql: new Map(), commits: 0, syncs: 0 };
const count = (sql: unknown) => {
  statements.total += 1;
  const text = typeof sql === 'string' ? sql : (sql as { text?: string } | null)?.text ?? '?';
  statements.bySql.set(text, (statements.bySql.get(text) ?? 0) + 1);
};

// Sesame keeps statements prepared (src/storage/statement-cache.ts): count their runs, not their preparations.
const probe = new SqliteDatabase(':memory:');
const statementPrototype = Object.getPrototypeOf(probe.prepare('select 1')) as Record<'run' | 'get' | 'all' | 'iterate', (...args: unknown[]) => unknown>;
probe.close();
for (const method of ['run', 'get', 'all', 'iterate'] as const) {
  const run = statementPrototype[method];
  statementPrototype[method] = function countedRun(this: SqliteDatabase.Statement, ...args: unknown[]) {
    count(this.source);
    const result = run.apply(this, args);
    // A transaction ended: a write outside BEGIN … COMMIT, or the COMMIT.
    if (!this.database.inTransaction && (!this.readonly || /^\s*commit/i.test(this.source))) statements.commits += 1;
    return result;
  };
}

// Sesame's group commit syncs the write-ahead log with FileHandle#datasync (src/storage/group-commit.ts); nothing else in the server calls it.
const probeFile = await fs.promises.open(os.devNull, 'r');
const fileHandlePrototype = Object.getPrototypeOf(probeFile) as { datasync: () => Promise<void> };
await probeFile.close();
const datasync = fileHandlePrototype.datasync;
fileHandlePrototype.datasync = function countedDatasync(this: unknown) {
  statements.syncs += 1;
  return datasync.call(this);
};

// Only for PostgreSQL: on SQLite Sesame never loads the driver, and neither does this.
if (process.env.DATABASE_URL) {
  const { default: pg } = await import('pg');
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
    count(args[0]);
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
}

const config = loadConfig();
const running = await startServer(config, { logger: createLogger(config.logLevel), pgSchema: process.env.BENCH_PG_SCHEMA || undefined });
serveStats(statements, () => running.close());
