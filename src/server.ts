import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from './config.js';
import { loadEnvFile } from './env-file.js';
import { createLogger, type Logger } from './log.js';
import { openDatabase } from './storage/db.js';
import { SecretBox } from './secrets/secret-box.js';
import { loadSecretKey } from './secrets/secret-key.js';
import { createServices, type ServiceOptions, type Services } from './services.js';
import { createApp } from './http/app.js';
import { seedDemo } from './demo-rp/seed.js';
import { purgeExpiredOidcPayloads } from './oidc/adapter.js';
import { startMetrics } from './metrics.js';
import { gracefulCloser } from './http/graceful-close.js';
import { isDatabaseUnavailable } from './storage/unavailable.js';

export interface RunningServer {
  url: string;
  services: Services;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** PostgreSQL schema (tests isolate themselves with it). */
  pgSchema?: string;
  /** Certificate authorities outbound https trusts besides the public ones (tests trust their own push service). */
  outboundCa?: string | Buffer;
  /** The mail worker's timing (tests shorten the backoff, the lease and the poll). */
  mailTuning?: ServiceOptions['mailTuning'];
}

/** Expired rows are purged and SQLite's write-ahead log is checkpointed this often. */
const PURGE_INTERVAL_MS = 60_000;

/** Composition root: config → storage → services → HTTP. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? createLogger(config.logLevel);
  const secretKey = loadSecretKey(config);
  if (secretKey.file) {
    log.info({ file: secretKey.file.path }, secretKey.file.created
      ? 'created a key for secrets at rest (SESAME_SECRET_KEY is not set); keep this file with the database, which cannot be read without it'
      : 'secrets at rest are encrypted with the key in this file (SESAME_SECRET_KEY is not set)');
  }
  const database = await openDatabase({
    secrets: new SecretBox(secretKey.key),
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    groupCommit: true,
    pgSchema: options.pgSchema,
    timeouts: config.databaseTimeouts,
    applicationName: config.databaseApplicationName,
    onBackgroundError: (err) => log.warn({ err }, 'database background connection error'),
    onWaiting: (err, location) => log.warn(
      { location, cause: (err as NodeJS.ErrnoException).code ?? err.message },
      `waiting for the database at ${location} to accept connections (up to ${config.databaseTimeouts.startupMs / 1000} s, DATABASE_STARTUP_TIMEOUT): retrying`,
    ),
  });
  const services = createServices(config, database, log, { outboundCa: options.outboundCa, mailTuning: options.mailTuning });
  await services.metadata.reload();
  startMetrics();
  if (config.demo) await seedDemo(services.tenants, config.publicUrl, database.secrets);

  let internalUrl = '';
  const app = createApp(services, { internalUrl: () => internalUrl });
  const server = http.createServer(app.callback());
  server.requestTimeout = 30_000;
  const closeHttp = gracefulCloser(server);
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
      services.uaf.purgeExpiredChallenges(),
      services.passport.purgeExpiredEnrolmentTokens(),
      services.rateLimits.purge(),
      services.recovery.purgeExpired(),
      services.emailVerification.purgeExpired(),
      services.sessions.purgeExpired(Date.now()),
      services.metadata.refreshIfDue(),
      services.audit.purgeExpired(),
      services.adminAccounts.purgeExpired(),
    ])
      .catch((err) => log.warn({ err }, 'purging expired rows failed'));
    try {
      database.checkpoint();
    } catch (err) {
      log.warn({ err }, 'checkpointing the database failed');
    }
  }, PURGE_INTERVAL_MS);
  purge.unref();

  if (services.mailWorker) {
    services.mailWorker.start();
  } else {
    log.warn('!!! SMTP_URL is not set: Sesame cannot send mail. Verification codes, recovery codes and security notices '
      + 'are kept in the database (mail_outbox) and go out once SMTP_URL is set and Sesame restarts.');
  }

  return {
    url: config.publicUrl,
    services,
    /** Graceful: event streams are told to reconnect, in-flight requests finish (up to SHUTDOWN_TIMEOUT), the database closes last. */
    async close() {
      clearInterval(purge);
      services.draining.start();
      await closeHttp(config.shutdownTimeoutMs);
      await services.mailWorker?.stop();
      services.outbound.close();
      await database.close();
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    // Before the configuration is read, and never overriding what the environment already says.
    loadEnvFile();
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
    const cause = (err.cause as Error | undefined) ?? err;
    const reason = err.code === 'EADDRINUSE' ? `port ${config.port} is already in use (set PORT to another one)`
      : isDatabaseUnavailable(cause) ? `the database did not become available within ${config.databaseTimeouts.startupMs / 1000} s (DATABASE_STARTUP_TIMEOUT): ${cause.message}`
      : err.message;
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
  lines.push('',
    `  Admin console:        ${config.publicUrl}/admin  (your first administrator: npm run sesame -- admin create <your e-mail>)`,
    '  Add a tenant for your own B2C:  npm run sesame -- tenant create <id> --name "<Display name>"', '');
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now, without waiting for in-flight requests');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutSeconds: config.shutdownTimeoutMs / 1000 }, 'shutting down: finishing in-flight requests');
    // Closing the database waits for queries in flight; it must not keep the process past the deadline.
    setTimeout(() => {
      log.error('shutdown did not finish within SHUTDOWN_TIMEOUT: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 2_000).unref();
    running.close().then(() => {
      log.info('shut down cleanly');
      process.exit(0);
    }, (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

// Run as the program: `node dist/server.mjs` (the one-file build), `node dist/src/server.js`,
// `tsx src/server.ts`. In a bundle every module has the bundle's URL, so the file's name must be
// this one's too: a bundle of another entry that imports this module (the benchmark's) does not start twice.
const entry = process.argv[1] && fs.realpathSync(process.argv[1]);
if (entry && entry === fileURLToPath(import.meta.url) && /^server\.m?[jt]s$/.test(path.basename(entry))) {
  void main();
}
