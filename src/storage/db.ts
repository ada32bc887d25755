import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Schema } from './schema.js';
import { migrateToLatest } from './migrations.js';
import { LocalPubSub, PostgresPubSub, type PubSub } from './pubsub.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { checkSecretKey } from '../secrets/key-check.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** Cross-node wake-ups (LISTEN/NOTIFY on PostgreSQL, in-process on SQLite). */
  pubsub: PubSub;
  /** Encrypts and decrypts the secrets this database keeps (repositories seal them before writing). */
  secrets: SecretBox;
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
  /** The key secrets at rest are sealed with (src/secrets/secret-key.ts). */
  secrets: SecretBox;
  /** Where errors of background connections go (the pool's idle clients, the LISTEN connection). */
  onBackgroundError?: (error: Error) => void;
}

/** Opens the database (SQLite file by default, PostgreSQL when a URL is given) and migrates it. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  const onError = options.onBackgroundError ?? (() => undefined);
  const database = options.databaseUrl ? openPostgres(options.databaseUrl, options.pgSchema, onError, options.secrets) : openSqlite(options.dataDir, options.secrets);
  try {
    // Kysely looks for its bookkeeping tables in every schema unless told which one is ours.
    const schema = database.dialect === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0].schema : undefined;
    await checkSecretKey(database.db, options.secrets, { bind: false, pgSchema: schema });
    await migrateToLatest(database.db, { secrets: options.secrets }, schema);
    await checkSecretKey(database.db, options.secrets, { bind: true });
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

function openSqlite(dataDir: string, secrets: SecretBox): Database {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'sesame.db');
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  const pubsub = new LocalPubSub();
  return { db, dialect: 'sqlite', location: file, pubsub, secrets, close: async () => { await pubsub.close(); await db.destroy(); } };
}

function openPostgres(url: string, schema: string | undefined, onError: (error: Error) => void, secrets: SecretBox): Database {
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
    secrets,
    close: async () => { await pubsub.close(); await db.destroy(); },
  };
}
