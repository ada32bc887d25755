import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Kysely } from 'kysely';
import type { Logger } from '../log.js';
import type { Schema } from '../storage/schema.js';
import { withWriteBatch } from '../storage/write-batch.js';
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
  // What throws to here failed after the endpoint had answered: committing the request's writes
  // (write-batch.ts, see commitWritesAtEnd). Whatever the endpoint said is not true then.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const where = { requestId: ctx.response.get('X-Request-Id') || undefined, tenant: tenantId, path: ctx.originalUrl };
      ctx.remove('Location');
      ctx.remove('Set-Cookie');
      if (!isDatabaseUnavailable(err)) {
        log.error({ ...where, err }, 'request failed');
        ctx.status = 500;
        if (ctx.accepts('json', 'html') === 'html') {
          ctx.type = 'html';
          ctx.body = renderPage('error', {
            nonce: cspNonce(ctx), title: 'Sign-in problem', heading: 'We could not complete this sign-in',
            message: 'Something went wrong on our side. Please try again.', code: 'server_error', requestId: where.requestId,
          });
        } else {
          ctx.body = { error: 'server_error', error_description: 'Something went wrong on our side. Please try again.' };
        }
        return;
      }
      log.warn({ ...where, err }, 'request failed: database unavailable');
      (ctx.state as Record<symbol, boolean>)[UNAVAILABLE] = true;
    }
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

/**
 * Each request's writes to the database that can wait (the provider's records, the passkey of a
 * new session) are committed together when the endpoint has answered and before the answer is
 * sent (storage/write-batch.ts). Registered after reportProviderFailures, inside it, so that a
 * failed commit is answered as a failure.
 */
export function commitWritesAtEnd(provider: Provider, db: Kysely<Schema>): void {
  provider.use((_ctx, next) => withWriteBatch(db, next));
}
