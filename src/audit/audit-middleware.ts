import type { Middleware } from 'koa';
import { runWithAuditContext } from './audit-context.js';

/** Runs the rest of the request inside its audit context; after requestId and pinToPublicUrl (ctx.ip is the believed client address). */
export function auditContext(): Middleware {
  return (ctx, next) => runWithAuditContext({
    actor: 'user',
    requestId: ctx.state.requestId as string | undefined,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent').slice(0, 512) || undefined,
  }, next);
}
