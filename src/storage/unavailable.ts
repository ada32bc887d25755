import { SesameError } from '../errors.js';

/** Seconds a client is asked to wait before retrying while the database is unavailable. */
export const RETRY_AFTER_SECONDS = 5;

export const serviceUnavailable = () => new SesameError(
  'service_unavailable',
  503,
  'Sesame cannot reach its database right now. Nothing was changed: please try again in a few seconds.',
);

// Node socket errors, and the messages pg and pg-pool use for a lost, refused or timed-out connection.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const PG_MESSAGES = /^(Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;
// SQLSTATE: 08 connection exception, 53 insufficient resources (disk full, too many connections),
// 57P01-03 shutdown/cannot connect now, 57014 statement_timeout, 25006 read-only after a failover.
const PG_STATES = /^(08...|53...|57P0[1-3]|57014|25006)$/;
// SQLite: disk full, read-only file or folder, locked past busy_timeout, I/O errors, file gone.
const SQLITE_CODES = /^SQLITE_(FULL|READONLY|BUSY|LOCKED|IOERR|CANTOPEN|PROTOCOL)/;

/**
 * True when an error means "the database cannot serve us right now" (as opposed to a bug or bad
 * input): the request should fail with 503 and be retried later, and the process should live on.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  if (error instanceof SesameError) return error.code === 'service_unavailable';
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_STATES.test(code) || SQLITE_CODES.test(code))) return true;
  return typeof message === 'string' && PG_MESSAGES.test(message);
}
