/**
 * `npm run bench [-- --quick | --smoke] [-- --out <file>]`: what one passkey sign-in costs.
 *
 * In one run: the crypto floor (CPU time of the crypto no passkey IdP can avoid), the architecture
 * floor (a bare oidc-provider configured as Sesame's, driven the same way), and Sesame itself on
 * SQLite (and on PostgreSQL when DATABASE_URL is set): server CPU per sign-in at steady state,
 * throughput at saturation (closed loop), latency at a fixed arrival rate of 70 % of saturation
 * (open loop), idle RSS and RSS under load, time from start to /readyz, the time of each request of
 * a sign-in, SQL statements per sign-in, and the latency on a database of a million users against
 * one of a thousand. Each server runs in its own process; this process is the load generator.
 * Prints a table and a last line `ratio=… oidc_ratio=… signins_per_s=… p99_ms=… rss_mb=… idle_rss_mb=…`,
 * and writes everything to bench/results/latest.json (or --out).
 * BENCH_CPU_PROF=<dir> writes V8 CPU profiles of each server process there: the whole process
 * (start-up included) and <target>-steady.cpuprofile, of the saturated and 70 % phases only;
 * BENCH_CPU_PROF_INTERVAL sets the sampling interval in µs (1000 by default).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../test/support/server.js';
import { measureCryptoFloor } from './crypto-floor.js';
import { startServerProcess, type ServerProcess } from './child.js';
import { bareFlow, closedLoop, openLoop, percentile, RequestTimer, sequential, sesameFlow, UserPool, type RunResult, type SignInFlow } from './load.js';
import { createBenchClient, openBenchDatabase, seedActiveUsers, seedFillerUsers, type BenchUser } from './support.js';
import type { ServerStats } from './stats.js';

const mode = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full';
const outIndex = process.argv.indexOf('--out');
const outFile = outIndex > 0 ? process.argv[outIndex + 1] : path.join(import.meta.dirname, 'results', 'latest.json');
const settings = {
  full: { concurrency: 8, closedMs: 20_000, openMs: 20_000, warmup: 40, timed: 40, smallDb: 1_000, bigDb: 1_000_000, floorIterations: 400 },
  quick: { concurrency: 8, closedMs: 4_000, openMs: 4_000, warmup: 16, timed: 12, smallDb: 1_000, bigDb: 100_000, floorIterations: 150 },
  smoke: { concurrency: 2, closedMs: 600, openMs: 600, warmup: 4, timed: 3, smallDb: 100, bigDb: 2_000, floorIterations: 10 },
}[mode];
// PostgreSQL is measured when asked for; the smoke run stays self-contained.
const databaseUrl = mode === 'smoke' ? undefined : process.env.DATABASE_URL || undefined;

interface PhaseResult {
  completed: number;
  failures: number;
  signinsPerS: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  cpuMsPerSignIn: number;
}

interface TargetResult {
  readyMs: number;
  idleRssMb: number;
  loadRssMb: number;
  saturation: PhaseResult;
  openLoop: PhaseResult & { offeredPerS: number };
  /** Sign-ins one at a time: median time of each kind of request, and of the whole sign-in (the median shrugs off the shared machine's hiccups). */
  sequential: {
    signInMs: number;
    /** The sum over the requests of a sign-in of each one's median server CPU time. */
    serverCpuMs?: number;
    requests: Array<{ request: string; count: number; medianMs: number; serverCpuMs?: number; sql?: number }>;
  };
  sqlPerSignIn?: number;
  /** SQLite: write transactions committed per sign-in. */
  commitsPerSignIn?: number;
  /** SQLite: syncs of the write-ahead log per sign-in (group commit: shared by the requests waiting at the time). */
  syncsPerSignIn?: number;
  topSql?: Array<{ sql: string; perSignIn: number }>;
}

const timer = new RequestTimer();

async function measureTarget(name: string, server: ServerProcess, flow: SignInFlow, users: BenchUser[] | undefined, withSql: boolean): Promise<TargetResult> {
  const pool = new UserPool(users, settings.concurrency * 4);
  const idle = await server.stats();
  // Warm-up, not counted: every user once (a first sign-in on a device is announced by mail), then some more.
  await sequential(flow, pool, Math.max(settings.warmup, users?.length ?? 0));
  await closedLoop(flow, pool, settings.concurrency, Math.min(2_000, settings.closedMs));

  const before = await server.stats();
  const seq = await timer.around(() => sequential(flow, pool, settings.timed));
  const after = await server.stats();
  failIf(seq, 'sequential');

  let loadRss = 0;
  const sampler = setInterval(() => void server.rss().then((rss) => { loadRss = Math.max(loadRss, rss); }), 250);
  try {
    await server.profile('start', `${name}-steady`);
    const saturation = await phase(server, () => closedLoop(flow, pool, settings.concurrency, settings.closedMs));
    const rate = Math.max(1, saturation.signinsPerS * 0.7);
    const open = await phase(server, () => openLoop(flow, pool, rate, settings.openMs));
    await server.profile('stop', `${name}-steady`);
    return {
      readyMs: round(server.readyMs),
      idleRssMb: round(idle.rssBytes / 2 ** 20),
      loadRssMb: round(loadRss / 2 ** 20),
      saturation,
      openLoop: { ...open, offeredPerS: round(rate) },
      sequential: sequentialFigures(seq, before, after),
      ...(withSql ? sqlFigures(before, after, seq.completed) : {}),
    };
  } finally {
    clearInterval(sampler);
  }
}

async function phase(server: ServerProcess, run: () => Promise<RunResult>): Promise<PhaseResult> {
  const before = await server.stats();
  const result = await run();
  const after = await server.stats();
  failIf(result, 'load');
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    completed: result.completed,
    failures: result.failures,
    signinsPerS: round(result.completed / result.elapsedS),
    p50Ms: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    p99Ms: round(percentile(sorted, 99)),
    cpuMsPerSignIn: round((after.cpuUs - before.cpuUs) / 1000 / Math.max(1, result.completed), 3),
  };
}

function sequentialFigures(seq: RunResult, before: ServerStats, after: ServerStats): TargetResult['sequential'] {
  const requests = [...timer.byKind].map(([request, times]) => ({
    request, count: round(times.length / seq.completed), medianMs: round(median(times)), ...serverCost(before, after, request),
  }));
  const serverCpuMs = requests.every((r) => r.serverCpuMs !== undefined) ? round(requests.reduce((sum, r) => sum + r.count * r.serverCpuMs!, 0), 2) : undefined;
  return { signInMs: round(median(seq.latenciesMs)), ...(serverCpuMs !== undefined ? { serverCpuMs } : {}), requests };
}

/** The server's own median CPU time (and SQL statements) for requests of this kind made between two stats. */
function serverCost(before: ServerStats, after: ServerStats, request: string): { serverCpuMs?: number; sql?: number } {
  const earlier = new Map(before.requests).get(request);
  const later = new Map(after.requests).get(request);
  if (!later) return {};
  const from = earlier?.cpuUs.length ?? 0;
  const cpuUs = later.cpuUs.slice(from);
  if (!cpuUs.length) return {};
  return { serverCpuMs: round(median(cpuUs) / 1000, 2), ...(before.statements || after.statements ? { sql: median(later.statements.slice(from)) } : {}) };
}

function sqlFigures(before: ServerStats, after: ServerStats, signIns: number) {
  const earlier = new Map(before.bySql);
  const top = after.bySql.map(([text, n]) => ({ sql: text.replace(/\s+/g, ' ').slice(0, 160), perSignIn: round((n - (earlier.get(text) ?? 0)) / signIns) }))
    .filter((s) => s.perSignIn > 0).sort((a, b) => b.perSignIn - a.perSignIn);
  return {
    sqlPerSignIn: round((after.statements - before.statements) / signIns),
    ...(after.commits ? { commitsPerSignIn: round((after.commits - before.commits) / signIns), syncsPerSignIn: round((after.syncs - before.syncs) / signIns) } : {}),
    topSql: top.slice(0, 12),
  };
}

async function sesame(databaseKind: 'sqlite' | 'postgres') {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-bench-'));
  const pgSchema = databaseKind === 'postgres' ? `bench_${randomBytes(6).toString('hex')}` : undefined;
  if (pgSchema) await withPg(databaseUrl!, (c) => c.query(`create schema ${pgSchema}`));
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess('server-entry', port, {
      PUBLIC_URL: origin, DATA_DIR: dataDir, LOG_LEVEL: 'silent', SESAME_DEMO: 'true', DATABASE_URL: databaseKind === 'postgres' ? databaseUrl! : '',
      BENCH_PG_SCHEMA: pgSchema ?? '', RATE_LIMIT_PER_IP: '100000000', RATE_LIMIT_PER_ACCOUNT: '100000000', RATE_LIMIT_AUTH_PER_IP: '100000000',
    });
    const database = await openBenchDatabase(dataDir, databaseKind === 'postgres' ? databaseUrl : undefined, pgSchema);
    try {
      const client = await createBenchClient(database, dataDir);
      const { users, publicKey } = await seedActiveUsers(database, settings.concurrency * 4, 'localhost');
      await seedFillerUsers(database, users.length, settings.smallDb, publicKey);
      const flow = sesameFlow(origin, client);
      const result = await measureTarget(databaseKind, server, flow, users, true);
      if (databaseKind === 'postgres') return { ...result };

      // The same sign-ins one at a time, on a database of settings.bigDb users instead of settings.smallDb.
      // Both measured after the load phases, so that neither runs on a colder process than the other.
      const pool = new UserPool(users, users.length);
      const small = await sequential(flow, pool, settings.timed);
      failIf(small, 'small database');
      const smallMs = median(small.latenciesMs);
      const seedStart = performance.now();
      await seedFillerUsers(database, settings.smallDb, settings.bigDb, publicKey);
      const seedS = (performance.now() - seedStart) / 1000;
      await sequential(flow, pool, settings.warmup);
      const big = await sequential(flow, pool, settings.timed);
      failIf(big, 'big database');
      const bigMs = median(big.latenciesMs);
      return {
        ...result,
        bigDatabase: {
          smallUsers: settings.smallDb, bigUsers: settings.bigDb, seedSeconds: round(seedS),
          smallSignInMs: round(smallMs), bigSignInMs: round(bigMs), differenceMs: round(bigMs - smallMs),
        },
      };
    } finally {
      await database.close();
    }
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (pgSchema) await withPg(databaseUrl!, (c) => c.query(`drop schema ${pgSchema} cascade`));
  }
}

/** The bare oidc-provider: with its in-memory adapter, or (`durable`) with Sesame's storage on SQLite. */
async function bare(durable = false): Promise<TargetResult> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-bench-bare-'));
  const server = await startServerProcess(durable ? 'bare-oidc-sqlite' : 'bare-oidc', port, { DATA_DIR: dataDir });
  try {
    return await measureTarget(durable ? 'bareOidcSqlite' : 'bareOidc', server, bareFlow(server.origin), undefined, false);
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const started = performance.now();
  const cryptoFloor = await measureCryptoFloor(settings.floorIterations, mode === 'smoke' ? 2 : 5);
  const bareOidc = await bare();
  const bareOidcSqlite = await bare(true);
  const sqlite = await sesame('sqlite');
  const postgres = databaseUrl ? await sesame('postgres') : undefined;

  const summary = {
    ratio: round(sqlite.saturation.cpuMsPerSignIn / cryptoFloor.totalMs, 1),
    oidc_ratio: round(sqlite.saturation.cpuMsPerSignIn / bareOidc.saturation.cpuMsPerSignIn, 1),
    signins_per_s: sqlite.saturation.signinsPerS,
    p99_ms: sqlite.openLoop.p99Ms,
    rss_mb: sqlite.loadRssMb,
    idle_rss_mb: sqlite.idleRssMb,
  };
  const report = {
    mode,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg().map((l) => round(l)), node: process.version },
    settings,
    cryptoFloor: { assertionMs: round(cryptoFloor.assertionMs, 3), idTokenMs: round(cryptoFloor.idTokenMs, 3), totalMs: round(cryptoFloor.totalMs, 3) },
    bareOidc,
    bareOidcSqlite,
    sqlite,
    ...(postgres ? { postgres } : {}),
    // Sesame over the bare provider keeping its records as Sesame does: what Sesame adds beyond durable storage.
    storageOidcRatio: round(sqlite.saturation.cpuMsPerSignIn / bareOidcSqlite.saturation.cpuMsPerSignIn, 1),
    durationS: round((performance.now() - started) / 1000),
    summary,
  };
  print(report, { bareOidc, bareOidcSqlite, sqlite, postgres });
  console.log(`Sesame (SQLite) over the bare oidc-provider with Sesame's storage: ${report.storageOidcRatio}`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  const line = Object.entries(summary).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(line);
}

function print(report: { mode: string; machine: { loadAverage: number[] }; cryptoFloor: { assertionMs: number; idTokenMs: number; totalMs: number }; durationS: number }, targets: Record<string, TargetResult | undefined>) {
  const present = Object.entries(targets).filter((e): e is [string, TargetResult] => e[1] !== undefined);
  console.log(`\nSesame sign-in benchmark (${report.mode}), load average ${report.machine.loadAverage.join(' ')}, ${report.durationS} s`);
  console.log(`Crypto floor per sign-in: ${report.cryptoFloor.totalMs} ms CPU (ES256 assertion ${report.cryptoFloor.assertionMs} ms + RS256 ID token ${report.cryptoFloor.idTokenMs} ms)`);
  const rows: Record<string, Record<string, number | string>> = {};
  const row = (label: string, value: (t: TargetResult) => number | string | undefined) => {
    rows[label] = Object.fromEntries(present.map(([name, t]) => [name, value(t) ?? '']));
  };
  row('server CPU per sign-in, saturated (ms)', (t) => t.saturation.cpuMsPerSignIn);
  row('server CPU per sign-in, 70 % load (ms)', (t) => t.openLoop.cpuMsPerSignIn);
  row('server CPU per sign-in, one at a time (ms)', (t) => t.sequential.serverCpuMs);
  row('sign-ins per second (closed loop)', (t) => t.saturation.signinsPerS);
  row('closed loop p50 / p99 (ms)', (t) => `${t.saturation.p50Ms} / ${t.saturation.p99Ms}`);
  row('open loop rate (per s)', (t) => t.openLoop.offeredPerS);
  row('open loop p50 / p90 / p99 (ms)', (t) => `${t.openLoop.p50Ms} / ${t.openLoop.p90Ms} / ${t.openLoop.p99Ms}`);
  row('one sign-in alone (ms)', (t) => t.sequential.signInMs);
  row('SQL statements per sign-in', (t) => t.sqlPerSignIn);
  row('write transactions per sign-in', (t) => t.commitsPerSignIn);
  row('syncs of the WAL per sign-in (one at a time)', (t) => t.syncsPerSignIn);
  row('idle RSS (MB)', (t) => t.idleRssMb);
  row('RSS under load (MB)', (t) => t.loadRssMb);
  row('start to ready (ms)', (t) => t.readyMs);
  row('failures', (t) => t.saturation.failures + t.openLoop.failures);
  console.table(rows);
  for (const [name, t] of present) {
    console.log(`Requests of one sign-in, ${name} (median ms, one at a time):`);
    console.table(Object.fromEntries(t.sequential.requests.map((r) => [r.request, {
      'per sign-in': r.count, 'median ms (client)': r.medianMs, 'server CPU ms': r.serverCpuMs ?? '', ...(r.sql !== undefined ? { SQL: r.sql } : {}),
    }])));
  }
  const sqlite = targets.sqlite as TargetResult & { bigDatabase: Record<string, number> };
  const big = sqlite.bigDatabase;
  console.log(`${big.bigUsers} users against ${big.smallUsers}: one sign-in ${big.bigSignInMs} ms against ${big.smallSignInMs} ms (${big.differenceMs >= 0 ? '+' : ''}${big.differenceMs} ms); seeded in ${big.seedSeconds} s`);
}

function failIf(result: RunResult, what: string) {
  if (result.failures > 0) process.exitCode = 1;
  if (result.completed === 0) throw new Error(`no sign-in completed in the ${what} phase`);
}

async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

await main();
