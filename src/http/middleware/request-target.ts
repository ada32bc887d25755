import type { Middleware } from 'koa';
import { badRequest } from '../../errors.js';

/**
 * Refuses, before any route sees it, a request whose address cannot mean anything: a path with
 * broken percent-encoding (which would throw wherever it is decoded) or a NUL character anywhere in
 * the path or query (no id, tenant or parameter holds one, and PostgreSQL cannot compare text with
 * it: the lookup would fail as a 500).
 */
export function requestTarget(): Middleware {
  return async (ctx, next) => {
    let path: string;
    try {
      path = decodeURIComponent(ctx.path);
    } catch {
      throw badRequest('This address is not valid: it has a broken %-escape.', 'invalid_url');
    }
    if (path.includes('\u0000') || /%00/i.test(ctx.querystring) || ctx.querystring.includes('\u0000')) {
      throw badRequest('This address is not valid: it contains a NUL character.', 'invalid_url');
    }
    await next();
  };
}
