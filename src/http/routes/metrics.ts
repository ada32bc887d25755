import Router from '@koa/router';
import { register } from 'prom-client';
import { operatorTokenCheck } from '../operator-token.js';

/**
 * Prometheus metrics. They reveal traffic and tenant activity, so on a deployment they need
 * METRICS_TOKEN (`Authorization: Bearer <token>`); without one they exist only on a localhost Sesame.
 */
export function metricsRoutes(options: { token: string | undefined; localOnly: boolean }): Router {
  const router = new Router();
  const hasToken = operatorTokenCheck(options.token);
  router.get('/metrics', async (ctx) => {
    if (options.token) {
      if (!hasToken(ctx)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        ctx.body = { error: 'unauthorized', message: 'Send the METRICS_TOKEN as a bearer token to read the metrics.' };
        return;
      }
    } else if (!options.localOnly) {
      return; // 404, as if there were no such page
    }
    ctx.type = register.contentType;
    ctx.body = await register.metrics();
  });
  return router;
}
