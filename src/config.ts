import path from 'node:path';

/**
 * Every setting Sesame reads, in one place (README.md, "Configuration", lists each variable). Read once at start-up and passed down;
 * nothing below the composition root looks at process.env.
 */
export interface Config {
  /** TCP port the HTTP server listens on. */
  port: number;
  /** The externally visible base URL (scheme, host, optional port), without a trailing slash. */
  publicUrl: string;
  /** PostgreSQL connection string; when empty, an embedded SQLite file under dataDir is used. */
  databaseUrl: string | undefined;
  /** Folder for the SQLite database file. */
  dataDir: string;
  /** Create the `demo` tenant, its client and the demo relying-party page on start. */
  demo: boolean;
  /** pino log level. */
  logLevel: string;
  /** Trust X-Forwarded-* headers (set when behind a reverse proxy). */
  trustProxy: boolean;
  /** Contact for push services, sent in the VAPID JWT (an https: URL or mailto: address). */
  vapidSubject: string;
  /** Sign-in and sign-up ceremonies allowed per minute, per client IP and per account (e-mail). */
  rateLimits: { perIpPerMinute: number; perAccountPerMinute: number };
  /** Hosts (names or IP addresses) outbound requests may reach although they are not public: tests and development only. */
  outboundAllowPrivate: string[];
  /** Web Push services a Passport subscription may point at: the known browser push services plus PUSH_SERVICE_HOSTS. */
  pushServiceHosts: string[];
}

/** The push services of Chrome/Android (FCM), Firefox, Safari/Apple and Edge/Windows; `*.` matches any subdomain. */
export const KNOWN_PUSH_SERVICE_HOSTS = ['fcm.googleapis.com', 'updates.push.services.mozilla.com', '*.push.apple.com', '*.notify.windows.com'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = parsePort(env.PORT ?? '8080');
  const publicUrl = parsePublicUrl(env.PUBLIC_URL ?? `http://localhost:${port}`);
  return {
    port,
    publicUrl,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR ?? 'data'),
    demo: parseBoolean('SESAME_DEMO', env.SESAME_DEMO ?? 'true'),
    logLevel: env.LOG_LEVEL ?? 'info',
    trustProxy: parseBoolean('TRUST_PROXY', env.TRUST_PROXY ?? 'false'),
    vapidSubject: parseVapidSubject(env.VAPID_SUBJECT ?? (publicUrl.startsWith('https:') ? publicUrl : 'mailto:sesame@localhost')),
    rateLimits: {
      perIpPerMinute: parsePositive('RATE_LIMIT_PER_IP', env.RATE_LIMIT_PER_IP ?? '60'),
      perAccountPerMinute: parsePositive('RATE_LIMIT_PER_ACCOUNT', env.RATE_LIMIT_PER_ACCOUNT ?? '10'),
    },
    outboundAllowPrivate: parseHostList('OUTBOUND_ALLOW_PRIVATE', env.OUTBOUND_ALLOW_PRIVATE ?? ''),
    pushServiceHosts: [...KNOWN_PUSH_SERVICE_HOSTS, ...parseHostList('PUSH_SERVICE_HOSTS', env.PUSH_SERVICE_HOSTS ?? '')],
  };
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a number between 0 and 65535, got "${raw}".`);
  }
  return port;
}

function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`PUBLIC_URL must be an absolute URL such as https://id.example.com, got "${raw}".`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`PUBLIC_URL must start with https:// (or http:// for localhost), got "${raw}".`);
  }
  if (url.search || url.hash) throw new Error('PUBLIC_URL must not contain a query or fragment.');
  return url.href.replace(/\/+$/, '');
}

function parseVapidSubject(raw: string): string {
  if (!/^(https:\/\/|mailto:)\S+$/.test(raw)) throw new Error(`VAPID_SUBJECT must be an https:// URL or a mailto: address, got "${raw}".`);
  return raw;
}

function parsePositive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1, got "${raw}".`);
  return n;
}

function parseHostList(name: string, raw: string): string[] {
  const hosts = raw.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const bad = hosts.find((h) => !/^(\*\.)?[a-z0-9.:[\]-]+$/.test(h));
  if (bad) throw new Error(`${name} must be a comma-separated list of host names or IP addresses, got "${bad}".`);
  return hosts;
}

function parseBoolean(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got "${raw}".`);
}
