import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Schema } from './schema.js';
import { migrateToLatest } from './migrations.js';
import { LocalPubSub, PostgresPubSub, type PubSub } from './pubsub.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** Cross-node wake-ups (LISTEN/NOTIFY on PostgreSQL, in-process on SQLite). */
  pubsub: PubSub;
  /** Human-readable location (file path or host/database), without credentials. */
  location: string;
  close(): Promise<void>;
}

// pg returns int8 as strings; every bigint we store is an epoch-ms or a counter, safe as a number.
pg.types.setTypeParser(20, Number);

export interface OpenOptions {
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL schema to use (tests isolate themselves this way). */
  pgSchema?: string;
  /** Where errors of background connections go (the pool's idle clients, the LISTEN connection). */
  onBackgroundError?: (error: Error) => void;
}

/** Opens the database (SQLite file by default, PostgreSQL when a URL is given) and migrates it. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  const onError = options.onBackgroundError ?? (() => undefined);
  const database = options.databaseUrl ? openPostgres(options.databaseUrl, options.pgSchema, onError) : openSqlite(options.dataDir);
  // Kysely looks for its bookkeeping tables in every schema unless told which one is ours.
  const schema = database.dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0].schema : undefined;
  await migrateToLatest(database.db, schema);
  return database;
}

function openSqlite(dataDir: string): Database {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'sesame.db');
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  const pubsub = new LocalPubSub();
  return { db, dialect: 'sqlite', location: file, pubsub, close: async () => { await pubsub.close(); await db.destroy(); } };
}

function openPostgres(url: string, schema: string | undefined, onError: (error: Error) => void): Database {
  const connection: pg.ClientConfig = { connectionString: url, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
  const pool = new pg.Pool({ ...connection, max: 10 });
  pool.on('error', onError);
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  const pubsub = new PostgresPubSub(connection, pool, onError);
  const parsed = new URL(url);
  return {
    db,
    dialect: 'postgres',
    location: `${parsed.host}${parsed.pathname}`,
    pubsub,
    close: async () => { await pubsub.close(); await db.destroy(); },
  };
}
