import fs from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { openDatabase } from './storage/db.js';
import { createServices, type Services } from './services.js';
import { createApp } from './http/app.js';
import { seedDemo } from './demo-rp/seed.js';
import { purgeExpiredOidcPayloads } from './oidc/adapter.js';
import { startMetrics } from './metrics.js';

export interface RunningServer {
  url: string;
  services: Services;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** PostgreSQL schema (tests isolate themselves with it). */
  pgSchema?: string;
  /** https agent for Web Push deliveries (tests trust their own push service with it). */
  pushAgent?: https.Agent;
}

const PURGE_INTERVAL_MS = 60_000;

/** Composition root: config → storage → services → HTTP. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    pgSchema: options.pgSchema,
    onBackgroundError: (err) => log.warn({ err }, 'database background connection error'),
  });
  const services = createServices(config, database, log, { pushAgent: options.pushAgent });
  startMetrics();
  if (config.demo) await seedDemo(services.tenants, config.publicUrl);

  let internalUrl = '';
  const app = createApp(services, { internalUrl: () => internalUrl });
  const server = http.createServer(app.callback());
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { address, family, port } = server.address() as AddressInfo;
  const wildcard = address === '::' || address === '0.0.0.0';
  internalUrl = wildcard ? `http://127.0.0.1:${port}` : `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;

  const purge = setInterval(() => {
    Promise.all([
      purgeExpiredOidcPayloads(database.db),
      services.challenges.purgeExpired(),
      services.crossDevice.housekeeping(),
      services.passport.purgeExpiredEnrolmentTokens(),
    ])
      .catch((err) => log.warn({ err }, 'purging expired rows failed'));
  }, PURGE_INTERVAL_MS);
  purge.unref();

  return {
    url: config.publicUrl,
    services,
    async close() {
      clearInterval(purge);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await database.close();
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(`Sesame cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  let running: RunningServer;
  try {
    running = await startServer(config, { logger: log });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const reason = err.code === 'EADDRINUSE' ? `port ${config.port} is already in use (set PORT to another one)` : err.message;
    console.error(`Sesame cannot start: ${reason}`);
    process.exit(1);
  }
  const { database } = running.services;
  const lines = [
    '',
    `Sesame is running on ${config.publicUrl}  (database: ${database.dialect}, ${database.location})`,
  ];
  if (config.demo) {
    lines.push(
      '',
      `  Demo relying party:   ${config.publicUrl}/demo-rp/`,
      `  Demo tenant metadata: ${config.publicUrl}/demo/oidc/.well-known/openid-configuration`,
      `  Your passkeys:        ${config.publicUrl}/demo/account`,
      `  Passport (phone app): ${config.publicUrl}/demo/passport/`,
    );
  }
  lines.push('', '  Add a tenant for your own B2C:  npm run sesame -- tenant create <id> --name "<Display name>"', '');
  console.log(lines.join('\n'));

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main();
}
