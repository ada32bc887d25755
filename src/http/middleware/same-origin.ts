import type { Middleware } from 'koa';
import { forbidden } from '../../errors.js';

/**
 * CSRF defence for Sesame's own state-changing endpoints: a POST must come from a page of our own
 * origin. Browsers always send Origin on POST fetches and forms; Sec-Fetch-Site is the fallback.
 * Non-browser callers (the SDK, tests) send Origin too. oidc-provider's routes are not behind this:
 * the token and revocation endpoints receive server-to-server POSTs by design.
 */
export function requireSameOrigin(publicOrigin: string): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.method !== 'OPTIONS') {
      const origin = ctx.get('Origin');
      const fetchSite = ctx.get('Sec-Fetch-Site');
      const sameOrigin = origin ? origin === publicOrigin : fetchSite === 'same-origin';
      if (!sameOrigin) throw forbidden('This request did not come from a Sesame page, so it was refused.', 'cross_origin_request');
    }
    await next();
  };
}
