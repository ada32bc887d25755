import Router from '@koa/router';
import type { TenantService } from '../../tenants/tenant-service.js';

export interface WellKnownWebauthnDeps {
  tenants: Pick<TenantService, 'allRelatedOrigins'>;
}

/**
 * WebAuthn Related Origin Requests (WebAuthn L3 §5.11): a browser asked to use our RP ID from
 * another origin fetches this list and proceeds only if that origin is on it. Every tenant shares
 * the one RP ID (PUBLIC_URL's host), so the list is the union of all tenants' related origins;
 * each tenant's ceremonies still accept only its own (PasskeyService).
 */
export function wellKnownWebauthnRoutes(deps: WellKnownWebauthnDeps): Router {
  const router = new Router();
  router.get('/.well-known/webauthn', async (ctx) => {
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = { origins: await deps.tenants.allRelatedOrigins() };
  });
  return router;
}
