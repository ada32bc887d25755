import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

/**
 * Whether a request carries the operator's METRICS_TOKEN (`Authorization: Bearer <token>`). Always
 * false when no token is configured. Compared as digests, so the comparison takes the same time
 * whatever the client sent.
 */
export function operatorTokenCheck(token: string | undefined): (ctx: Context) => boolean {
  const expected = token ? digest(token) : undefined;
  return (ctx) => {
    if (!expected) return false;
    const presented = /^Bearer (\S+)$/i.exec(ctx.get('Authorization'))?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();
