/** What a benchmarked server process reports to the load generator over its IPC channel. */
export interface StatementCounter {
  total: number;
  bySql: Map<string, number>;
}

export interface ServerStats {
  cpuUs: number;
  rssBytes: number;
  statements: number;
  bySql: Array<[string, number]>;
}

export type StatsRequest = { type: 'stats'; id: number } | { type: 'stop' };

/** Answers stats requests; 'stop' closes the server and exits. The channel does not keep the process alive. */
export function serveStats(statements: StatementCounter | undefined, close: () => Promise<void>): void {
  process.on('message', (message: StatsRequest) => {
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      const stats: ServerStats = {
        cpuUs: cpu.user + cpu.system,
        rssBytes: process.memoryUsage.rss(),
        statements: statements?.total ?? 0,
        bySql: statements ? [...statements.bySql] : [],
      };
      process.send!({ id: message.id, stats });
    } else {
      void close().finally(() => process.exit(0));
    }
  });
  process.channel?.unref();
}
