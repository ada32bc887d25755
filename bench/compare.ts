/**
 * `npx tsx bench/compare.ts <rounds> <name>=<folder> [<name>=<folder> …]`: the server CPU of a
 * sign-in, request by request, of several versions of Sesame measured side by side — for a
 * before/after on a machine others share, where one run's figures drift with the load within
 * minutes. Each folder is a checkout (e.g. `git worktree add` or `git archive | tar -x`, with
 * node_modules linked) whose benchmark server reports the CPU of each request (bench/stats.ts).
 *
 * All servers run at once, each in its own process under tsx (an old checkout has no bundle
 * script), on a database of its own with the same users; the sign-ins go to them one at a time in
 * a new random order each round, so a disturbance hits every version alike. The table gives, per
 * version, the median server CPU per sign-in and per request, and SQL statements and SQLite write
 * transactions per sign-in. A version may carry Node flags after its folder, e.g.
 * `'small=. --max-semi-space-size=4'`: the same checkout with another heap; "mean" then matters more
 * than the median, as garbage collection falls on a few sign-ins only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/server.js';
import { sesameFlow, UserPool, type SignInFlow } from './load.js';
import { createBenchClient, openBenchDatabase, seedActiveUsers, seedFillerUsers } from './support.js';
import type { ServerStats } from './stats.js';

interface Version {
  name: string;
  child: ChildProcess;
  ask: <T>(message: Record<string, unknown>) => Promise<T>;
  flow: SignInFlow;
  pool: UserPool;
  dataDir: string;
}

const [roundsArg, ...specs] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!(rounds > 0) || specs.length === 0 || specs.some((s) => !s.includes('='))) {
  throw new Error('usage: npx tsx bench/compare.ts <rounds> <name>=<folder> [<name>=<folder> …]');
}

async function start(name: string, folder: string, nodeFlags: string[]): Promise<Version> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sesame-compare-${name}-`));
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(folder, 'bench', 'server-entry.ts')], {
    cwd: folder,
    env: {
      ...process.env, PORT: String(port), PUBLIC_URL: origin, DATA_DIR: dataDir, LOG_LEVEL: 'silent', SESAME_DEMO: 'true', DATABASE_URL: '',
      RATE_LIMIT_PER_IP: '100000000', RATE_LIMIT_PER_ACCOUNT: '100000000', RATE_LIMIT_AUTH_PER_IP: '100000000',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const pending = new Map<number, (answer: unknown) => void>();
  child.on('message', (message: { id: number; answer: unknown }) => pending.get(message.id)?.(message.answer));
  const ask = <T>(message: Record<string, unknown>) => new Promise<T>((resolve) => {
    const id = nextId++;
    pending.set(id, (answer) => { pending.delete(id); resolve(answer as T); });
    child.send({ ...message, id });
  });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`${origin}/readyz`)).ok) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} (${folder}) did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const database = await openBenchDatabase(dataDir, undefined, undefined);
    try {
      const client = await createBenchClient(database, dataDir);
      const { users, publicKey } = await seedActiveUsers(database, 8, 'localhost');
      await seedFillerUsers(database, users.length, 1_000, publicKey);
      return { name, child, ask, flow: sesameFlow(origin, client), pool: new UserPool(users, users.length), dataDir };
    } finally {
      await database.close();
    }
  } catch (error) {
    child.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

const versions: Version[] = [];
let n = 0;
const signIn = async (version: Version) => {
  const user = await version.pool.take();
  try {
    await version.flow(user, n++);
  } finally {
    version.pool.give(user);
  }
};

try {
  for (const spec of specs) {
    const at = spec.indexOf('=');
    const [folder, ...nodeFlags] = spec.slice(at + 1).trim().split(/\s+/);
    versions.push(await start(spec.slice(0, at), path.resolve(folder), nodeFlags));
  }
  // Warm-up, not counted: every user's first sign-in (announced by mail), and the JIT.
  for (let i = 0; i < 30; i += 1) for (const version of versions) await signIn(version);
  const before = new Map<string, ServerStats>();
  for (const version of versions) before.set(version.name, await version.ask<ServerStats>({ type: 'stats' }));
  const perSignIn = new Map<string, number[]>(versions.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const version of [...versions].sort(() => Math.random() - 0.5)) {
      const start = await version.ask<ServerStats>({ type: 'stats' });
      await signIn(version);
      const end = await version.ask<ServerStats>({ type: 'stats' });
      perSignIn.get(version.name)!.push((end.cpuUs - start.cpuUs) / 1000);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const table: Record<string, Record<string, string>> = {};
  for (const version of versions) {
    const start = before.get(version.name)!;
    const end = await version.ask<ServerStats>({ type: 'stats' });
    const cpu = perSignIn.get(version.name)!;
    const row: Record<string, string> = { 'sign-in (ms)': median(cpu).toFixed(2), 'mean': (cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(2) };
    for (const [kind, { cpuUs }] of end.requests) {
      const counted = cpuUs.slice(new Map(start.requests).get(kind)?.cpuUs.length ?? 0);
      if (counted.length >= rounds) row[kind.replace('/interaction/:uid', '…').replace('/oidc', '')] = (median(counted) / 1000).toFixed(2);
    }
    row['SQL'] = ((end.statements - start.statements) / rounds).toFixed(1);
    row['commits'] = end.commits === undefined ? '' : ((end.commits - start.commits) / rounds).toFixed(1);
    row['syncs'] = end.syncs === undefined ? '' : ((end.syncs - start.syncs) / rounds).toFixed(1);
    table[version.name] = row;
  }
  console.log(`${rounds} sign-ins each, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; median server CPU (ms), and the mean per sign-in`);
  console.table(table);
} finally {
  for (const version of versions) {
    version.child.kill();
    fs.rmSync(version.dataDir, { recursive: true, force: true });
  }
}
