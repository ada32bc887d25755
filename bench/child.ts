import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerStats } from './stats.js';
import { startScriptNodeFlags } from '../test/support/child-server.js';

/** A server under test in its own process, started by the load generator. */
export interface ServerProcess {
  origin: string;
  /** Spawn to /readyz answering 200. */
  readyMs: number;
  stats(): Promise<ServerStats>;
  /** Its resident memory now (bytes): a light question for sampling under load. */
  rss(): Promise<number>;
  /** With BENCH_CPU_PROF: profiles the server from 'start' to 'stop', written as <name>.cpuprofile there. */
  profile(phase: 'start' | 'stop', name: string): Promise<void>;
  stop(): Promise<void>;
}

let nextId = 0;

const projectRoot = path.resolve(import.meta.dirname, '..');
const bundled = new Map<string, Promise<string>>();

/**
 * Bundles a server entry (and the src/ it runs) into one file, as `npm run build` bundles the
 * server (scripts/build-server.mjs): servers are measured as production runs them, not compiling
 * TypeScript on the fly (tsx alone added about 50 MB of memory and half a second of start-up).
 */
function bundle(entry: string): Promise<string> {
  let file = bundled.get(entry);
  if (!file) {
    const outfile = path.join('dist', 'bench', `${entry}.mjs`);
    file = import(pathToFileURL(path.join(projectRoot, 'scripts', 'build-server.mjs')).href)
      .then(({ bundleServer }: { bundleServer: (entry: string, outfile: string) => Promise<void> }) => bundleServer(`bench/${entry}.ts`, outfile))
      .then(() => path.join(projectRoot, outfile));
    bundled.set(entry, file);
  }
  return file;
}

/** Starts `entry` (bench/server-entry.ts, bench/bare-oidc.ts or bench/bare-oidc-sqlite.ts, bundled) with an IPC channel and waits for /readyz. */
export async function startServerProcess(entry: 'server-entry' | 'bare-oidc' | 'bare-oidc-sqlite', port: number, env: Record<string, string>): Promise<ServerProcess> {
  const script = await bundle(entry);
  const origin = `http://localhost:${port}`;
  const profile = process.env.BENCH_CPU_PROF;
  const t0 = performance.now();
  const flags = entry === 'server-entry' ? startScriptNodeFlags() : [];
  const child: ChildProcess = spawn(process.execPath, [...flags, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, ...(process.env.BENCH_CPU_PROF_INTERVAL ? [`--cpu-prof-interval=${process.env.BENCH_CPU_PROF_INTERVAL}`] : [])] : []), script], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const pending = new Map<number, (answer: unknown) => void>();
  child.on('message', (message: { id: number; answer: unknown }) => pending.get(message.id)?.(message.answer));
  const ask = <T>(message: Record<string, unknown>) => new Promise<T>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, (answer) => { pending.delete(id); resolve(answer as T); });
    child.send({ ...message, id }, (error) => error && reject(error));
  });
  try {
    await waitForReady(origin, () => exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const readyMs = performance.now() - t0;
  return {
    origin,
    readyMs,
    stats: () => ask<ServerStats>({ type: 'stats' }),
    rss: () => ask<number>({ type: 'rss' }),
    profile: async (phase, name) => {
      if (profile) await ask({ type: 'profile', phase, file: path.join(profile, `${name}.cpuprofile`) });
    },
    async stop() {
      if (exited) return;
      child.send({ type: 'stop' });
      // --cpu-prof writes the profile on a normal exit; a stuck close still ends.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

async function waitForReady(origin: string, exited: () => boolean): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if (exited()) throw new Error(`the server at ${origin} exited before it was ready`);
    try {
      if ((await fetch(`${origin}/readyz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server at ${origin} did not become ready within 60 s`);
}
