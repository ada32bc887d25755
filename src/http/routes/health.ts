import Router from '@koa/router';
import { sql, type Kysely } from 'kysely';
import type { Schema } from '../../storage/schema.js';

export function healthRoutes(db: Kysely<Schema>): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => { ctx.body = { status: 'ok' }; });
  router.get('/readyz', async (ctx) => {
    try {
      await sql`select 1`.execute(db);
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', message: 'The database is not reachable.' };
    }
  });
  return router;
}
