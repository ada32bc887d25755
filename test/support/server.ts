import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';
import { randomId } from '../../src/ids.js';
import { registerMailbox, unregisterMailbox } from './mailbox.js';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type DbKind = 'sqlite' | 'postgres';

let postgresReachable: Promise<boolean> | undefined;

/** The databases storage and flow tests run on: SQLite always, PostgreSQL when reachable (always on CI). */
export async function databases(): Promise<DbKind[]> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      if (process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL}, and CI must test on it.`);
      console.warn(`\n!!! PostgreSQL is not reachable at ${POSTGRES_URL}: tests run on SQLite only.\n`);
      return false;
    }
  })();
  return (await postgresReachable) ? ['sqlite', 'postgres'] : ['sqlite'];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestServer extends RunningServer {
  port: number;
  origin: string;
}

/**
 * Starts a real Sesame server on a free port of localhost, on a fresh SQLite file or a fresh
 * PostgreSQL schema (dropped again on close).
 */
export async function startTestServer(kind: DbKind, options: StartOptions & { env?: Record<string, string> } = {}): Promise<TestServer> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-test-'));
  let schema: string | undefined;
  if (kind === 'postgres') {
    schema = `t_${randomId(6).toLowerCase().replace(/[^a-z0-9]/g, '')}_${Date.now()}`;
    await withPg((c) => c.query(`create schema ${schema}`));
  }
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_URL: `http://localhost:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    // Generous limits, so tests that sign in often are not throttled; the rate-limit test sets its own.
    RATE_LIMIT_PER_IP: '10000',
    RATE_LIMIT_PER_ACCOUNT: '10000',
    RATE_LIMIT_AUTH_PER_IP: '10000',
    ...(kind === 'postgres' ? { DATABASE_URL: POSTGRES_URL } : {}),
    // An https deployment must bring the key for secrets at rest, as a real one does.
    ...(options.env?.PUBLIC_URL?.startsWith('https:') ? { SESAME_SECRET_KEY: randomBytes(32).toString('base64url') } : {}),
    ...options.env,
  });
  const running = await startServer(config, { logger: createLogger(config.logLevel), pgSchema: schema, ...options });
  const origin = `http://localhost:${port}`;
  registerMailbox(origin, running.services);
  registerMailbox(config.publicUrl, running.services);
  return {
    ...running,
    port,
    origin,
    async close() {
      unregisterMailbox(origin);
      await running.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (schema) await withPg((c) => c.query(`drop schema ${schema} cascade`));
    },
  };
}

async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
