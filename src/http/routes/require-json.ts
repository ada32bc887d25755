import type { Context, Next } from 'koa';
import { SesameError } from '../../errors.js';

/** Sesame's own POST endpoints take JSON only: a form or text body is a 415, not a silent empty body. */
export async function requireJson(ctx: Context, next: Next): Promise<void> {
  if (!ctx.is('application/json')) throw new SesameError('unsupported_media_type', 415, 'Send the request body as JSON (Content-Type: application/json).');
  await next();
}
