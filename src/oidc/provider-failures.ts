import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../log.js';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS, serviceUnavailable } from '../storage/unavailable.js';
import { renderPage } from '../views/render.js';
import { cspNonce } from '../http/csp.js';

const UNAVAILABLE = Symbol('database unavailable');

/**
 * oidc-provider catches the errors of its endpoints and answers them itself (a generic 500), so
 * our error middleware never sees them. Here each one is logged once, with our request id, and a
 * database outage is answered like in our own routes: 503, Retry-After and a message that says so.
 */
export function reportProviderFailures(provider: Provider, tenantId: string, log: Logger): void {
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    const unavailable = isDatabaseUnavailable(err);
    // Our request-id middleware set the header on the raw response this context shares.
    const where = { requestId: ctx.response.get('X-Request-Id') || undefined, tenant: tenantId, path: ctx.originalUrl };
    if (unavailable) log.warn({ ...where, err }, 'request failed: database unavailable');
    else log.error({ ...where, err }, 'request failed');
    if (unavailable) (ctx.state as Record<symbol, boolean>)[UNAVAILABLE] = true;
  });

  // Runs around every endpoint, outside oidc-provider's own error handling: the answer is final here.
  provider.use(async (ctx, next) => {
    await next();
    if (!(ctx.state as Record<symbol, boolean>)[UNAVAILABLE]) return;
    const error = serviceUnavailable();
    ctx.status = error.status;
    ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
    if (ctx.accepts('json', 'html') === 'html') {
      ctx.type = 'html';
      ctx.body = renderPage('error', {
        nonce: cspNonce(ctx),
        title: 'Sign-in problem',
        heading: 'Please try again in a moment',
        message: error.message,
        code: error.code,
        requestId: ctx.response.get('X-Request-Id') || undefined,
      });
    } else {
      // OAuth clients understand the registered `temporarily_unavailable` code (RFC 6749 §4.1.2.1).
      ctx.body = { error: 'temporarily_unavailable', error_description: error.message };
    }
  });
}
