import Router from '@koa/router';
import type { Database } from '../../storage/db.js';
import type { Draining } from '../../draining.js';
import { checkDatabase } from '../../storage/readiness.js';
import { operatorTokenCheck } from '../operator-token.js';

export interface HealthDeps {
  database: Database;
  draining: Draining;
  config: { metricsToken: string | undefined; localOnly: boolean };
}

/**
 * /healthz: the process runs (restart it if not). /readyz: this node can serve requests now.
 * Anyone (a load balancer) gets the verdict and the names of the failed checks; why each failed
 * is shown to the operator only (a localhost Sesame, or the METRICS_TOKEN bearer): database
 * errors can name internal hosts, users and schemas.
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = new Router();
  const hasToken = operatorTokenCheck(deps.config.metricsToken);
  router.get('/healthz', (ctx) => { ctx.body = { status: 'ok' }; });
  router.get('/readyz', async (ctx) => {
    const checks = {
      ...await checkDatabase(deps.database),
      shutdown: deps.draining.active ? { ok: false, message: 'this node is shutting down' } : { ok: true },
    };
    const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
    const status = failed.length ? 'unavailable' : 'ready';
    ctx.set('Cache-Control', 'no-store');
    ctx.status = failed.length ? 503 : 200;
    ctx.body = deps.config.localOnly || hasToken(ctx) ? { status, failed, checks } : { status, failed };
  });
  return router;
}
