import type { Middleware } from 'koa';
import type { Kysely } from 'kysely';
import type { Schema } from '../../storage/schema.js';
import { whenDurable } from '../../storage/group-commit.js';

/**
 * Holds every answer of Sesame's own routes until what was written before it is on disk (SQLite's
 * group commit, storage/group-commit.ts; immediate on PostgreSQL). Inside the error handler, so
 * that a failed sync is answered 503 in place of an answer that would not be true after a power
 * loss; the error answers themselves wait too (a counted rate-limit hit is a write). Requests that
 * answer by themselves (`ctx.respond = false`: oidc-provider's, which waits in its write batch) have
 * answered already when this runs.
 */
export function durableAnswers(db: Kysely<Schema>): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      if (ctx.respond !== false) await whenDurable(db);
    }
  };
}
