import net from 'node:net';
import path from 'node:path';
import { parseSecretKey } from './secrets/secret-key.js';
import { SECURITY_STATUSES, type SecurityStatus } from './webauthn/metadata/authenticator-status.js';

/**
 * Every setting Sesame reads, in one place (README.md, "Configuration", lists each variable). Read once at start-up and passed down;
 * nothing below the composition root looks at process.env.
 */
export interface Config {
  /** TCP port the HTTP server listens on. */
  port: number;
  /** Address the HTTP server listens on; undefined means every interface (Node's default: `::` with IPv4, or `0.0.0.0`). */
  host: string | undefined;
  /** The externally visible base URL (scheme, host, optional port), without a trailing slash. */
  publicUrl: string;
  /** PostgreSQL connection string; when empty, an embedded SQLite file under dataDir is used. */
  databaseUrl: string | undefined;
  /** Folder for the SQLite database file. */
  dataDir: string;
  /** Create the `demo` tenant, its client and the demo relying-party page on start. */
  demo: boolean;
  /** PUBLIC_URL names this machine (localhost, 127.0.0.1, [::1]): a developer's Sesame, not a deployment. */
  localOnly: boolean;
  /** Bearer token that opens /metrics on the public listener; without it /metrics is open only when localOnly. */
  metricsToken: string | undefined;
  /** pino log level. */
  logLevel: string;
  /**
   * Which reverse proxies to believe about the client's address (X-Forwarded-For): a number of proxy
   * hops in front of Sesame (0: none), or the proxies' own addresses and CIDR ranges.
   */
  trustProxy: number | string[];
  /** Contact for push services, sent in the VAPID JWT (an https: URL or mailto: address). */
  vapidSubject: string;
  /**
   * Sign-in and sign-up ceremonies allowed per minute, per client network and per account (e-mail);
   * new authorization requests (each stores an interaction for an hour) per minute per network.
   */
  rateLimits: { perIpPerMinute: number; perAccountPerMinute: number; authorizationsPerIpPerMinute: number };
  /**
   * The 32-byte key that encrypts secrets at rest (SESAME_SECRET_KEY). Required with an https
   * PUBLIC_URL; without it (a developer's machine) a key file under dataDir is used.
   */
  secretKey: Buffer | undefined;
  /** How long database work may take before a request fails with 503, and how long start-up waits for the database. */
  databaseTimeouts: { connectMs: number; statementMs: number; startupMs: number };
  /** PostgreSQL `application_name` of Sesame's connections (shows in pg_stat_activity). */
  databaseApplicationName: string;
  /** After SIGTERM, how long in-flight requests may take before connections are cut. */
  shutdownTimeoutMs: number;
  /** Hosts (names or IP addresses) outbound requests may reach although they are not public: tests and development only. */
  outboundAllowPrivate: string[];
  /** Live-update streams (desktop sign-in pages waiting for a phone) one client network may hold open on a node; beyond it, pages poll. */
  eventStreamsPerNetwork: number;
  /** Pushes to one person's phones per 24 hours (besides 3 per minute and a pause after they turn one down). */
  pushLimitPerDay: number;
  /** Days an audit event is kept; older ones are deleted by the housekeeping timer. */
  auditRetentionDays: number;
  /** Web Push services a Passport subscription may point at: the known browser push services plus PUSH_SERVICE_HOSTS. */
  pushServiceHosts: string[];
  /** Outgoing mail (src/mail): the SMTP server, the sender address, and whether a developer's outbox folder stands in for SMTP. */
  mail: MailConfig;
  /** FIDO metadata (src/webauthn/metadata): where the daily refresh downloads the BLOB, and which reported statuses refuse a passkey. */
  mds: { url: string | undefined; refusedStatuses: SecurityStatus[] };
  /**
   * Tenant onboarding at PUBLIC_URL/onboard: open (anyone may apply), invite (only with a link from
   * `sesame tenant invite`), off (the default: tenants come from the CLI or an operator). Open
   * applications are limited per client network and per e-mail domain, each per hour.
   */
  onboarding: { mode: OnboardingMode; perIpPerHour: number; perDomainPerHour: number };
}

export const ONBOARDING_MODES = ['open', 'invite', 'off'] as const;
export type OnboardingMode = (typeof ONBOARDING_MODES)[number];

export interface MailConfig {
  /** From SMTP_URL; undefined: no SMTP server (mails go to the dev outbox, or wait in the database on a deployment). */
  smtp: SmtpSettings | undefined;
  /** The sender address (MAIL_FROM); the display name is the tenant's name. */
  from: string;
  /** No SMTP server and not a deployment (PUBLIC_URL is not https): mails are written to DATA_DIR/outbox. */
  devOutbox: boolean;
}

export interface SmtpSettings {
  host: string;
  port: number;
  /** smtps:// (TLS from the first byte); smtp:// upgrades with STARTTLS when the server offers it. */
  secure: boolean;
  auth: { user: string; pass: string } | undefined;
}

/** The push services of Chrome/Android (FCM), Firefox, Safari/Apple and Edge/Windows; `*.` matches any subdomain. */
export const KNOWN_PUSH_SERVICE_HOSTS = ['fcm.googleapis.com', 'updates.push.services.mozilla.com', '*.push.apple.com', '*.notify.windows.com'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = parsePort(env.PORT ?? '8080');
  const publicUrl = parsePublicUrl(env.PUBLIC_URL ?? `http://localhost:${port}`);
  const secretKey = env.SESAME_SECRET_KEY ? parseSecretKey(env.SESAME_SECRET_KEY, 'SESAME_SECRET_KEY') : undefined;
  if (!secretKey && publicUrl.startsWith('https:')) {
    // docs/design-decisions.md: a generated key file would differ between nodes and vanish with a container.
    throw new Error('SESAME_SECRET_KEY is not set. With an https PUBLIC_URL (production) Sesame needs the key that encrypts '
      + 'its secrets at rest from the environment: make one with "openssl rand -base64 32", keep it in your secret store '
      + 'and give every node the same key.');
  }
  const localOnly = isLoopbackHost(new URL(publicUrl).hostname);
  return {
    port,
    host: parseHost(env.HOST),
    publicUrl,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR ?? 'data'),
    // A deployment never gets the demo tenant by accident; a developer's localhost Sesame does.
    demo: env.SESAME_DEMO ? parseBoolean('SESAME_DEMO', env.SESAME_DEMO) : localOnly,
    localOnly,
    metricsToken: parseMetricsToken(env.METRICS_TOKEN),
    logLevel: env.LOG_LEVEL ?? 'info',
    trustProxy: parseTrustProxy(env.TRUST_PROXY ?? '0'),
    vapidSubject: parseVapidSubject(env.VAPID_SUBJECT ?? (publicUrl.startsWith('https:') ? publicUrl : 'mailto:sesame@localhost')),
    rateLimits: {
      perIpPerMinute: parsePositive('RATE_LIMIT_PER_IP', env.RATE_LIMIT_PER_IP ?? '60'),
      perAccountPerMinute: parsePositive('RATE_LIMIT_PER_ACCOUNT', env.RATE_LIMIT_PER_ACCOUNT ?? '10'),
      authorizationsPerIpPerMinute: parsePositive('RATE_LIMIT_AUTH_PER_IP', env.RATE_LIMIT_AUTH_PER_IP ?? '120'),
    },
    secretKey,
    databaseTimeouts: {
      connectMs: parseSeconds('DATABASE_CONNECT_TIMEOUT', env.DATABASE_CONNECT_TIMEOUT ?? '5'),
      statementMs: parseSeconds('DATABASE_STATEMENT_TIMEOUT', env.DATABASE_STATEMENT_TIMEOUT ?? '5'),
      startupMs: parseSeconds('DATABASE_STARTUP_TIMEOUT', env.DATABASE_STARTUP_TIMEOUT ?? '60'),
    },
    databaseApplicationName: env.DATABASE_APPLICATION_NAME || 'sesame',
    shutdownTimeoutMs: parseSeconds('SHUTDOWN_TIMEOUT', env.SHUTDOWN_TIMEOUT ?? '10'),
    outboundAllowPrivate: parseHostList('OUTBOUND_ALLOW_PRIVATE', env.OUTBOUND_ALLOW_PRIVATE ?? ''),
    eventStreamsPerNetwork: parsePositive('EVENT_STREAMS_PER_NETWORK', env.EVENT_STREAMS_PER_NETWORK ?? '20'),
    pushLimitPerDay: parsePositive('PUSH_LIMIT_PER_DAY', env.PUSH_LIMIT_PER_DAY ?? '10'),
    auditRetentionDays: parsePositive('AUDIT_RETENTION_DAYS', env.AUDIT_RETENTION_DAYS ?? '400'),
    pushServiceHosts: [...KNOWN_PUSH_SERVICE_HOSTS, ...parseHostList('PUSH_SERVICE_HOSTS', env.PUSH_SERVICE_HOSTS ?? '')],
    mail: {
      smtp: env.SMTP_URL ? parseSmtpUrl(env.SMTP_URL) : undefined,
      from: parseMailFrom(env.MAIL_FROM ?? `sesame@${new URL(publicUrl).hostname.replace(/^\[|\]$/g, '')}`),
      devOutbox: !env.SMTP_URL && !publicUrl.startsWith('https:'),
    },
    mds: {
      // A deployment keeps the FIDO metadata current by itself; a developer's Sesame loads BLOBs by hand (sesame mds load).
      url: parseMdsUrl(env.MDS_URL ?? (publicUrl.startsWith('https:') ? FIDO_MDS_URL : 'off')),
      refusedStatuses: parseRefusedStatuses(env.MDS_REFUSED_STATUSES ?? SECURITY_STATUSES.join(',')),
    },
    onboarding: {
      mode: parseOnboardingMode(env.ONBOARDING ?? 'off'),
      perIpPerHour: parsePositive('ONBOARDING_LIMIT_PER_IP', env.ONBOARDING_LIMIT_PER_IP ?? '10'),
      perDomainPerHour: parsePositive('ONBOARDING_LIMIT_PER_DOMAIN', env.ONBOARDING_LIMIT_PER_DOMAIN ?? '5'),
    },
  };
}

export const FIDO_MDS_URL = 'https://mds3.fidoalliance.org/';

function parseOnboardingMode(raw: string): OnboardingMode {
  const mode = ONBOARDING_MODES.find((m) => m === raw.trim().toLowerCase());
  if (!mode) throw new Error(`ONBOARDING must be open, invite or off, got "${raw}".`);
  return mode;
}

function parseMdsUrl(raw: string): string | undefined {
  if (!raw || raw === 'off') return undefined;
  if (!/^https:\/\/[^\s/]+/.test(raw)) throw new Error(`MDS_URL must be an https:// address (the FIDO Metadata Service is ${FIDO_MDS_URL}) or off, got "${raw}".`);
  return raw;
}

function parseRefusedStatuses(raw: string): SecurityStatus[] {
  if (raw.trim() === 'none') return [];
  const statuses = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = statuses.find((s) => !(SECURITY_STATUSES as readonly string[]).includes(s));
  if (bad) throw new Error(`MDS_REFUSED_STATUSES must be none or a comma-separated list of ${SECURITY_STATUSES.join(', ')}; got "${bad}".`);
  return statuses as SecurityStatus[];
}

/** The URL carries the password: no message here may repeat it. */
function parseSmtpUrl(raw: string): SmtpSettings {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch { /* reported below */ }
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname || url.pathname.replace(/^\/+/, '') || url.search) {
    throw new Error('SMTP_URL must look like smtps://user:password@smtp.example.com:465 or smtp://user:password@smtp.example.com:587 '
      + '(special characters in the user or password percent-encoded); the value given is not such a URL (not shown, it may hold a password).');
  }
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    auth: user ? { user, pass: decodeURIComponent(url.password) } : undefined,
  };
}

function parseMailFrom(raw: string): string {
  if (!/^[^\s@<>"(),;:]+@[^\s@<>"(),;:]+$/.test(raw)) throw new Error(`MAIL_FROM must be a plain e-mail address such as sesame@example.com (the tenant's name is added as the display name), got "${raw}".`);
  return raw;
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

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function parseHost(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (!net.isIP(raw) && !/^[A-Za-z0-9.-]+$/.test(raw)) throw new Error(`HOST must be an IP address or host name to listen on, such as 127.0.0.1 or ::, got "${raw}".`);
  return raw;
}

function parseMetricsToken(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (raw.length < 16 || /\s/.test(raw)) throw new Error('METRICS_TOKEN must be at least 16 characters without spaces (for example: openssl rand -hex 32).');
  return raw;
}

/** `false`/`true` are kept for older configurations: no proxy, or exactly one. */
function parseTrustProxy(raw: string): number | string[] {
  const value = raw.trim();
  if (/^(false|no|off)$/i.test(value)) return 0;
  if (/^(true|yes|on)$/i.test(value)) return 1;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = net.isIP(address);
    const prefixOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!family || !prefixOk || extra !== undefined) {
      throw new Error(`TRUST_PROXY must be a number of proxy hops (0, 1, 2 …) or a comma-separated list of proxy addresses and CIDR ranges (10.0.0.5, 10.1.0.0/16), got "${raw}".`);
    }
  }
  if (entries.length === 0) throw new Error('TRUST_PROXY must not be empty.');
  return entries;
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

/** A duration in seconds (fractions allowed), returned in milliseconds. */
function parseSeconds(name: string, raw: string): number {
  const seconds = Number(raw);
  if (!raw.trim() || !Number.isFinite(seconds) || seconds <= 0) throw new Error(`${name} must be a number of seconds greater than 0, got "${raw}".`);
  return Math.round(seconds * 1000);
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
