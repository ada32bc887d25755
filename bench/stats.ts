import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

/** What a benchmarked server process reports to the load generator over its IPC channel. */
export interface StatementCounter {
  total: number;
  bySql: Map<string, number>;
  /** SQLite write transactions committed. */
  commits: number;
  /** Syncs of SQLite's write-ahead log to disk (group commit: one covers every commit before it). */
  syncs: number;
}

export interface ServerStats {
  cpuUs: number;
  rssBytes: number;
  statements: number;
  commits: number;
  syncs: number;
  bySql: Array<[string, number]>;
  /** Server CPU (µs) and SQL statements of each request that had the server to itself, by kind. */
  requests: Array<[string, { cpuUs: number[]; statements: number[] }]>;
}

export type StatsRequest = { type: 'stats'; id: number } | { type: 'rss'; id: number } | { type: 'profile'; id: number; phase: 'start' | 'stop'; file: string } | { type: 'stop' };

/** A request's kind: method and path, without the tenant and the interaction's uid. */
export function requestKind(method: string | undefined, url: string): string {
  return `${method ?? 'GET'} ${url.split('?')[0].replace(/^\/demo\//, '/').replace(/\/(interaction|auth)\/[^/]+/, '/$1/:uid')}`;
}

/**
 * Answers stats requests; 'stop' closes the server and exits. The channel does not keep the process alive.
 * Every HTTP request that starts and ends with no other one in flight (the load generator's
 * one-at-a-time phase) is charged the process's CPU time between its arrival and its response's
 * end: the server's own cost of that request, which the client's clock cannot tell apart from
 * the network and the client's own work.
 */
export function serveStats(statements: StatementCounter | undefined, close: () => Promise<void>): void {
  const requests = new Map<string, { cpuUs: number[]; statements: number[] }>();
  let inFlight = 0;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function emitTimed(this: http.Server, event: string, ...args: unknown[]) {
    if (event === 'request') {
      const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
      const alone = inFlight === 0;
      inFlight += 1;
      // Only a request that had the server to itself is measured: under load this costs nothing.
      if (!alone) {
        res.once('close', () => { inFlight -= 1; });
        return (emit as (this: http.Server, event: string, ...a: unknown[]) => boolean).call(this, event, ...args);
      }
      const cpu = process.cpuUsage();
      const statementsBefore = statements?.total ?? 0;
      // Taken now: the tenant dispatch rewrites req.url for oidc-provider.
      const kind = requestKind(req.method, req.url ?? '');
      res.once('close', () => {
        inFlight -= 1;
        if (inFlight > 0 || kind === 'GET /readyz') return;
        const used = process.cpuUsage(cpu);
        const entry = requests.get(kind) ?? { cpuUs: [], statements: [] };
        entry.cpuUs.push(used.user + used.system);
        entry.statements.push((statements?.total ?? 0) - statementsBefore);
        requests.set(kind, entry);
      });
    }
    return (emit as (this: http.Server, event: string, ...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;

  const profiler = new Session();
  process.on('message', (message: StatsRequest) => {
    if (message.type === 'profile') {
      void profilePhase(profiler, message.phase, message.file).then(() => process.send!({ id: message.id, answer: true }));
    } else if (message.type === 'rss') {
      // The sampler's question during the load phases: nothing to count or copy.
      process.send!({ id: message.id, answer: process.memoryUsage.rss() });
    } else if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      const stats: ServerStats = {
        cpuUs: cpu.user + cpu.system,
        rssBytes: process.memoryUsage.rss(),
        statements: statements?.total ?? 0,
        commits: statements?.commits ?? 0,
        syncs: statements?.syncs ?? 0,
        bySql: statements ? [...statements.bySql] : [],
        requests: [...requests],
      };
      process.send!({ id: message.id, answer: stats });
    } else {
      void close().finally(() => process.exit(0));
    }
  });
  process.channel?.unref();
}

/** A V8 CPU profile of the measured phases only (--cpu-prof covers the whole process, start-up included). */
async function profilePhase(session: Session, phase: 'start' | 'stop', file: string): Promise<void> {
  if (phase === 'start') {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL || 1000) });
    await session.post('Profiler.start');
  } else {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
