import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, POSTGRES_URL } from './server.js';
import { randomId } from '../../src/ids.js';

/**
 * Sesame as a real child process (`tsx src/server.ts`, or the build), for tests that kill it,
 * signal it or take its database away. Its JSON log lines are kept for assertions.
 */
export interface ChildServer {
  port: number;
  origin: string;
  child: ChildProcess;
  logs: Array<Record<string, any>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its data folder (SQLite file, key file, dev outbox): the one given, else a fresh temporary one. */
  dataDir: string;
}

/** Data folders spawnServer made itself, removed again by stopServer. */
const ownedDataDirs = new Set<string>();

/**
 * The Node flags `npm start` gives the server (package.json's `start`: `node <flags> dist/server.mjs`).
 * The benchmark measures Sesame with them; the built-server tests run with them.
 */
export function startScriptNodeFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/server.mjs') throw new Error(`package.json's start script is not "node [flags] dist/server.mjs": ${pkg.scripts.start}`);
  return words.slice(1, -1);
}

/**
 * `built`: run what `npm start` runs, the one-file build dist/server.mjs with the start script's Node
 * flags (made by `npm run build`, which `npm test` runs first), instead of src/server.ts under tsx.
 */
export async function spawnServer(env: Record<string, string>, options: { port?: number; waitReady?: boolean; built?: boolean } = {}): Promise<ChildServer> {
  const port = options.port ?? await freePort();
  const origin = `http://localhost:${port}`;
  // Never the repository's ./data: each child gets its own folder unless the test shares one.
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-child-'));
  if (!env.DATA_DIR) ownedDataDirs.add(dataDir);
  const child = spawn(process.execPath, options.built ? [...startScriptNodeFlags(), 'dist/server.mjs'] : ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      PUBLIC_URL: origin,
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_IP: '100000',
      RATE_LIMIT_PER_ACCOUNT: '100000',
      RATE_LIMIT_AUTH_PER_IP: '100000',
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, any>> = [];
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line));
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const server = { port, origin, child, logs, stderr: () => stderr, exited, dataDir };
  if (options.waitReady !== false) await waitReady(server);
  return server;
}

export async function waitReady(server: ChildServer, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`the server exited (${server.child.exitCode}): ${server.stderr()}`);
    try {
      if ((await fetch(`${server.origin}/readyz`, { signal: AbortSignal.timeout(2_500) })).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server on port ${server.port} did not become ready: ${server.stderr()}`);
}

export async function stopServer(server: ChildServer | undefined): Promise<void> {
  if (!server) return;
  if (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  if (ownedDataDirs.delete(server.dataDir)) fs.rmSync(server.dataDir, { recursive: true, force: true });
}

/** A fresh PostgreSQL schema, and a DATABASE_URL that puts the server in it. */
export async function pgSchema(): Promise<{ schema: string; databaseUrl: string; drop: () => Promise<void> }> {
  const schema = `t_${randomId(6).toLowerCase().replace(/[^a-z0-9]/g, '')}_${Date.now()}`;
  await withPg((c) => c.query(`create schema ${schema}`));
  return {
    schema,
    databaseUrl: `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: () => withPg((c) => c.query(`drop schema if exists ${schema} cascade`)).then(() => undefined),
  };
}

export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
