import type { Context, Middleware } from 'koa';
import type { Logger } from '../../log.js';
import { problemDetails, SesameError } from '../../errors.js';
import { renderPage } from '../../views/render.js';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS, serviceUnavailable } from '../../storage/unavailable.js';

/**
 * Turns every error into a clean answer: a SesameError becomes its status and message; a database
 * outage becomes 503 with Retry-After; anything else is logged with the request id and shown as a
 * generic 500 — never a stack trace. JSON callers get {"error", "message"}, browsers a page.
 */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && !ctx.body && ctx.respond !== false) {
        throw new SesameError('not_found', 404, 'There is nothing at this address.');
      }
    } catch (caught) {
      const error = toSesameError(caught);
      const where = { requestId: ctx.state.requestId, tenant: tenantOf(ctx), path: ctx.path };
      if (error.code === 'service_unavailable') log.warn({ ...where, err: caught }, 'request failed: database unavailable');
      else if (error.status >= 500) log.error({ ...where, err: caught }, 'request failed');
      else log.info({ ...where, code: error.code, status: error.status }, 'request rejected');
      respondWithError(ctx, error);
    }
  };
}

export function toSesameError(caught: unknown): SesameError {
  if (caught instanceof SesameError) return caught;
  if (isDatabaseUnavailable(caught)) return serviceUnavailable();
  const status = (caught as { status?: number; statusCode?: number })?.status ?? (caught as { statusCode?: number })?.statusCode;
  const expose = (caught as { expose?: boolean })?.expose;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Errors raised by Koa and its body parser (malformed JSON, too large, wrong type) carry a safe message.
    const message = status === 413 ? 'The request body is too large (the limit is 100 KB).'
      : status === 415 ? 'Send the request body as application/json.'
      : expose ? String((caught as Error).message) : 'The request was not valid.';
    return new SesameError(status === 413 ? 'body_too_large' : 'invalid_request', status, message);
  }
  return new SesameError('server_error', 500, 'Something went wrong on our side. Please try again in a moment.');
}

/** The tenant a request was for: a route's :tenant, or the first segment of a /<tenant>/oidc path. */
function tenantOf(ctx: Context): string | undefined {
  return (ctx.params as Record<string, string> | undefined)?.tenant ?? /^\/([^/]+)\/oidc(\/|$)/.exec(ctx.path)?.[1];
}

function respondWithError(ctx: Context, error: SesameError): void {
  ctx.status = error.status;
  if (error.status === 429) ctx.set('Retry-After', String(error.retryAfterSeconds ?? 60));
  if (error.status === 503) ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
  // The admin API speaks RFC 9457 problem details, whatever the client accepts.
  if (ctx.path === '/api' || ctx.path.startsWith('/api/')) {
    ctx.type = 'application/problem+json';
    ctx.body = problemDetails(error, ctx.state.requestId);
    if (error.status === 401) ctx.set('WWW-Authenticate', `Bearer realm="sesame-admin-api"${error.code === 'invalid_token' ? ', error="invalid_token"' : ''}`);
    return;
  }
  const wantsHtml = ctx.method === 'GET' && ctx.accepts('json', 'html') === 'html';
  if (wantsHtml) {
    ctx.type = 'html';
    ctx.body = renderPage('error', {
      nonce: ctx.state.cspNonce ?? '',
      title: 'Something is not right',
      heading: error.status === 404 ? 'Not found' : error.status === 429 ? 'Please wait a moment' : error.status === 503 ? 'Please try again in a moment' : error.status >= 500 ? 'Something went wrong' : 'We could not do that',
      message: error.message,
      code: error.code,
      requestId: ctx.state.requestId,
    });
  } else {
    ctx.body = { error: error.code, message: error.message };
  }
}
