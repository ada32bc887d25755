import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Schema } from './schema.js';
import { migrateToLatest } from './migrations.js';
import { LocalPubSub, PostgresPubSub, type PubSub } from './pubsub.js';
import { isDatabaseUnavailable } from './unavailable.js';
import { cachingStatements } from './statement-cache.js';
import { attachReadCache, ReadCache } from './read-cache.js';
import { attachGroupCommit, GroupCommit, walSync } from './group-commit.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { checkSecretKey } from '../secrets/key-check.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** Cross-node wake-ups (LISTEN/NOTIFY on PostgreSQL, in-process on SQLite). */
  pubsub: PubSub;
  /** Human-readable location (file path or host/database), without credentials. */
  location: string;
  /** Encrypts and decrypts the secrets this database keeps (repositories seal them before writing). */
  secrets: SecretBox;
  /** The PostgreSQL schema in use (Kysely's migration bookkeeping needs it named). */
  schema: string | undefined;
  /** Periodic upkeep: folds SQLite's write-ahead log back into the database file. */
  checkpoint(): void;
  close(): Promise<void>;
}


export interface DatabaseTimeouts {
  /** Getting a connection (PostgreSQL: from the pool or a new one). */
  connectMs: number;
  /** One statement (PostgreSQL statement_timeout; SQLite busy_timeout). */
  statementMs: number;
  /** How long start-up waits for a database that does not accept connections yet. */
  startupMs: number;
}

const DEFAULT_TIMEOUTS: DatabaseTimeouts = { connectMs: 5_000, statementMs: 5_000, startupMs: 0 };
const STARTUP_RETRY_MAX_MS = 2_000;

export interface OpenOptions {
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  pgSchema?: string;
  /** Where errors of background connections go (the pool's idle clients, the LISTEN connection). */
  onBackgroundError?: (error: Error) => void;
  /** Told each time start-up finds the database unavailable and is about to try again. */
  onWaiting?: (error: Error, location: string) => void;
  timeouts?: Partial<DatabaseTimeouts>;
  /** PostgreSQL application_name of every connection. */
  applicationName?: string;
  /** The key secrets at rest are sealed with (src/secrets/secret-key.ts). */
  secrets: SecretBox;
  /**
   * SQLite: commit without syncing and make writes durable with one shared sync before answering
   * (group-commit.ts); the server does, every answer waiting in `whenDurable`. Without it (the CLI)
   * every COMMIT syncs by itself.
   */
  groupCommit?: boolean;
}

/**
 * Opens the database (SQLite file by default, PostgreSQL when a URL is given) and migrates it.
 * While the database is unavailable (PostgreSQL still starting, a volume not mounted yet), start-up
 * retries for up to `timeouts.startupMs` instead of failing at once.
 */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const deadline = Date.now() + timeouts.startupMs;
  for (let attempt = 0; ; attempt += 1) {
    let database: Database | undefined;
    try {
      database = options.databaseUrl ? await openPostgres(options, timeouts) : openSqlite(options.dataDir, timeouts, options.secrets, options.groupCommit ?? false);
      // Kysely looks for its bookkeeping tables in every schema unless told which one is ours.
      if (database.dialect === 'postgres') database.schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0].schema;
      await checkSecretKey(database.db, options.secrets, { bind: false, pgSchema: database.schema });
      await migrateToLatest(database.db, { secrets: options.secrets }, database.schema);
      await checkSecretKey(database.db, options.secrets, { bind: true });
      // Migrations leave every page they touched in SQLite's write-ahead log (1.5 MB on a new database):
      // folded back at once, not at the first housekeeping a minute later, so a small volume is not spent on it.
      // Only an optimisation: another process reading the file (a CLI run) may make it wait for later.
      try {
        database.checkpoint();
      } catch { /* the housekeeping checkpoints again */ }
      if (database.pubsub instanceof PostgresPubSub) await database.pubsub.start();
      return database;
    } catch (error) {
      await database?.close().catch(() => undefined);
      const cause = (error as { cause?: unknown }).cause ?? error;
      if (!isDatabaseUnavailable(cause) || Date.now() >= deadline) throw error;
      options.onWaiting?.(cause as Error, location(options));
      await sleep(Math.min(STARTUP_RETRY_MAX_MS, 100 * 2 ** attempt, Math.max(0, deadline - Date.now())));
    }
  }
}

const sqliteFile = (dataDir: string) => path.join(dataDir, 'sesame.db');

function location(options: OpenOptions): string {
  if (!options.databaseUrl) return sqliteFile(options.dataDir);
  const parsed = new URL(options.databaseUrl);
  return `${parsed.host}${parsed.pathname}`;
}

function openSqlite(dataDir: string, timeouts: DatabaseTimeouts, secrets: SecretBox, grouped: boolean): Database {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = sqliteFile(dataDir);
  const sqlite = new SqliteDatabase(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    // An acknowledged write survives a power loss, not only a crash: FULL syncs the WAL in every
    // COMMIT; NORMAL leaves that to the group commit's sync before each answer (group-commit.ts).
    sqlite.pragma(`synchronous = ${grouped ? 'NORMAL' : 'FULL'}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${timeouts.statementMs}`);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  // Beside the real file: SQLite follows a symbolic link to the database and keeps its log there.
  const wal = grouped ? walSync(`${fs.realpathSync(file)}-wal`) : undefined;
  const groupCommit = wal && new GroupCommit(wal.sync);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite, { onCommit: groupCommit && (() => groupCommit.committedWrite()) }) }) });
  if (groupCommit) attachGroupCommit(db, groupCommit);
  const pubsub = new LocalPubSub();
  // Changes when another connection (the CLI, in another process) commits; this connection's own writes announce themselves.
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  attachReadCache(db, new ReadCache(pubsub, () => dataVersion.get() as number));
  return {
    db,
    dialect: 'sqlite',
    location: file,
    schema: undefined,
    pubsub,
    secrets,
    checkpoint() {
      // better-sqlite3 blocks the event loop: try without waiting for readers (a CLI run), or skip this round.
      sqlite.pragma('busy_timeout = 0');
      try {
        sqlite.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        sqlite.pragma(`busy_timeout = ${timeouts.statementMs}`);
      }
    },
    close: async () => {
      await pubsub.close();
      await groupCommit?.settle();
      await wal?.close();
      await db.destroy();
    },
  };
}

async function openPostgres(options: OpenOptions, timeouts: DatabaseTimeouts): Promise<Database> {
  // Loaded only here: a SQLite deployment never needs the PostgreSQL driver.
  const { default: pg } = await import('pg');
  // pg returns int8 as strings; every bigint we store is an epoch-ms or a counter, safe as a number.
  pg.types.setTypeParser(20, Number);
  const url = options.databaseUrl!;
  const onError = options.onBackgroundError ?? (() => undefined);
  const connection: pg.ClientConfig = {
    connectionString: url,
    ...(options.pgSchema ? { options: `-c search_path=${options.pgSchema}` } : {}),
    ...(options.applicationName ? { application_name: options.applicationName } : {}),
    connectionTimeoutMillis: timeouts.connectMs,
    keepAlive: true,
    statement_timeout: timeouts.statementMs,
    // The client-side limit catches what the server cannot answer (a network partition); it is a
    // little longer so that a slow statement is cancelled by the server and its connection stays usable.
    query_timeout: timeouts.statementMs + 1_000,
  };
  const pool = new pg.Pool({ ...connection, max: 10 });
  pool.on('error', onError);
  // pg emits `error` on a client whose connection drops while a request holds it; the pool only
  // listens on idle clients. The query in flight fails with the same error (and is logged with its
  // request), and the pool discards the broken client when it comes back.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    endWhenAnswerTimesOut(client);
  });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  const pubsub = new PostgresPubSub(pg, connection, pool, onError);
  // Subscribed before the LISTEN connection opens, so the channel is listened to from the start.
  attachReadCache(db, new ReadCache(pubsub));
  return {
    db,
    dialect: 'postgres',
    location: location(options),
    schema: options.pgSchema,
    pubsub,
    secrets: options.secrets,
    checkpoint: () => undefined,
    close: async () => { await pubsub.close(); await db.destroy(); },
  };
}

/**
 * When a statement outlives query_timeout (the server did not answer: a network partition), pg
 * fails it but leaves it pending on the connection, and the pool would lend that connection again:
 * every later statement would queue behind the lost one and time out in turn. Ending the client
 * (pg destroys the socket of a client with a hung statement) makes the pool replace it when it is
 * released, which happens just after this.
 */
function endWhenAnswerTimesOut(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const endIfTimedOut = (error: unknown) => {
    if ((error as Error | undefined)?.message === 'Query read timeout') client.end().catch(() => undefined);
  };
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        endIfTimedOut(error);
        callback(error, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.catch(endIfTimedOut);
    return result;
  };
}
