import type { Middleware } from 'koa';
import { toSesameError } from '../http/middleware/errors.js';
import type { AuditEventType, AuditLog } from './audit-log.js';

/** The ceremony endpoints whose refusals are security events, by path. */
const CEREMONIES: Array<[RegExp, AuditEventType, string]> = [
  [/^\/([^/]+)\/interaction\/[^/]+\/signin\/(options|verify)$/, 'signin.failed', 'interaction'],
  [/^\/([^/]+)\/account\/signin\/(options|verify)$/, 'signin.failed', 'account'],
  [/^\/([^/]+)\/interaction\/[^/]+\/signup\/verify$/, 'signup.failed', 'interaction'],
  [/^\/([^/]+)\/interaction\/[^/]+\/recovery\/(email\/verify|code)$/, 'recovery.failed', 'interaction'],
  [/^\/([^/]+)\/recovery\/link$/, 'recovery.failed', 'admin_link'],
];

/**
 * Records refused sign-ins, sign-ups and recoveries with the error's code as the reason, then lets
 * the error go on to errorHandler (mounted just outside this). Not recorded: a tenant that does not
 * exist (anyone can make up names, each would be a row) and server faults (they are not a person's
 * failure, and errorHandler logs them).
 */
export function recordCeremonyFailures(audit: AuditLog): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      const ceremony = ctx.method === 'POST' ? CEREMONIES.find(([pattern]) => pattern.test(ctx.path)) : undefined;
      const error = toSesameError(caught);
      if (ceremony && error.status < 500 && error.code !== 'unknown_tenant') {
        const [pattern, type, via] = ceremony;
        await audit.recordFailure({ type, tenantId: pattern.exec(ctx.path)![1], reason: error.code, detail: { via } });
      }
      throw caught;
    }
  };
}
