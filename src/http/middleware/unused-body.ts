import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { SesameError } from '../../errors.js';

/** Methods whose bodies Sesame (and oidc-provider) read; any other method's body is never used. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const LIMIT_BYTES = 100 * 1024;

/**
 * A body sent with a method that carries none here (GET, HEAD, DELETE, OPTIONS, TRACE) is read and
 * dropped before the request is answered. Answered with its body unread, Node (24 and later) closes
 * the connection with those bytes still queued, and the kernel then resets it: the client can lose
 * the answer and see only "connection reset". Past 100 KB the request is refused and the connection
 * closed, rather than reading on.
 */
export function discardUnusedBody(): Middleware {
  return async (ctx, next) => {
    if (BODY_METHODS.has(ctx.method) || !hasBody(ctx.req)) return next();
    if (!(await drain(ctx.req, LIMIT_BYTES))) {
      ctx.set('Connection', 'close');
      throw new SesameError('body_too_large', 413, `A ${ctx.method} request carries no body here, and this one is larger than 100 KB.`);
    }
    return next();
  };
}

function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
}

/** Reads the request to its end, keeping nothing; false (and stops reading) once past `limit` bytes. */
function drain(req: IncomingMessage, limit: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean) => {
      req.off('data', onData).off('end', onEnd).off('error', onEnd).off('aborted', onEnd);
      if (!ok) req.pause();
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) finish(false);
    };
    const onEnd = () => finish(seen <= limit);
    req.on('data', onData).once('end', onEnd).once('error', onEnd).once('aborted', onEnd);
  });
}
