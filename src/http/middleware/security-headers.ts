import type { Middleware } from 'koa';
import { assignNonce, contentSecurityPolicy } from '../csp.js';

/**
 * Pages a relying party may open in a pop-up (MSAL loginPopup, oidc-client signinPopup): the
 * protocol endpoints and the sign-in pages. Cross-Origin-Opener-Policy would cut them off from
 * the opener that waits for the result, so they do not get it.
 */
const POPUP_FLOW = /^\/[^/]+\/(oidc|interaction)(\/|$)/;

/** Security headers on every response, including those oidc-provider writes. */
export function securityHeaders(options: { https: boolean }): Middleware {
  return async (ctx, next) => {
    const nonce = assignNonce(ctx.res);
    ctx.state.cspNonce = nonce;
    ctx.set('Content-Security-Policy', contentSecurityPolicy(nonce));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    // Not no-referrer: the form_post to the relying party must carry an Origin header (null under no-referrer).
    ctx.set('Referrer-Policy', 'strict-origin-when-cross-origin');
    if (!POPUP_FLOW.test(ctx.path)) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.https) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  };
}
