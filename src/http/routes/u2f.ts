import Router from '@koa/router';
import type { U2fService } from '../../u2f/u2f-service.js';
import type { TenantService } from '../../tenants/tenant-service.js';

/** A tenant's trusted facets (FIDO AppID and Facets v1.2 §3.1.2), for an AppID that is this URL. */
export function u2fRoutes(deps: { tenants: TenantService; u2f: U2fService }): Router {
  const router = new Router({ prefix: '/:tenant/u2f' });
  router.get('/trusted-facets', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const body = await deps.u2f.trustedFacets(tenant.id);
    ctx.type = 'application/fido.trusted-apps+json';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = JSON.stringify(body);
  });
  return router;
}
