import type { Middleware } from 'koa';
import { assignNonce, contentSecurityPolicy } from '../csp.js';

/** Security headers on every response, including those oidc-provider writes. */
export function securityHeaders(options: { https: boolean }): Middleware {
  return async (ctx, next) => {
    const nonce = assignNonce(ctx.res);
    ctx.state.cspNonce = nonce;
    ctx.set('Content-Security-Policy', contentSecurityPolicy(nonce));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.https) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  };
}
