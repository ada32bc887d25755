import Router from '@koa/router';
import type { Database } from '../../storage/db.js';
import type { Draining } from '../../draining.js';
import { checkDatabase } from '../../storage/readiness.js';

/**
 * /healthz: the process runs (restart it if not). /readyz: this node can serve requests now;
 * the body names each check and why it failed, so an operator sees the cause at once.
 */
export function healthRoutes(deps: { database: Database; draining: Draining }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => { ctx.body = { status: 'ok' }; });
  router.get('/readyz', async (ctx) => {
    const checks = {
      ...await checkDatabase(deps.database),
      shutdown: deps.draining.active ? { ok: false, message: 'this node is shutting down' } : { ok: true },
    };
    const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = failed.length ? 503 : 200;
    ctx.body = { status: failed.length ? 'unavailable' : 'ready', failed, checks };
  });
  return router;
}
