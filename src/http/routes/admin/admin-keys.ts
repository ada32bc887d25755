import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from '../../../services.js';
import { issuerFor } from '../../../oidc/issuer.js';
import { PUBLISH_AHEAD_MS, RETAIN_MS } from '../../../oidc/signing-keys.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import { flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

type KeysDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'signingKeys' | 'audit' | 'config'>;

const utc = (at: number) => `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** A tenant's ID-token signing keys, and rotation (as `sesame keys rotate`). */
export function adminKeyRoutes(deps: KeysDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);

  const show = async (ctx: Context, tenant: Tenant, error?: string) => {
    const keys = await deps.signingKeys.describe(tenant.id);
    renderConsole(ctx, 'keys', {
      title: `Signing keys · ${tenant.name}`, tenant, current: 'keys', script: 'admin', error,
      flash: flashOf(ctx, { rotated: 'A new signing key is published. It starts signing ID tokens in 48 hours.' }),
      jwksUrl: `${issuerFor(deps.config.publicUrl, tenant.id)}/jwks`,
      aheadHours: PUBLISH_AHEAD_MS / 3600_000,
      retainHours: RETAIN_MS / 3600_000,
      rotateAction: tenantPath(tenant, 'keys/rotate'),
      keys: keys.map((k) => ({
        ...k,
        createdAt: new Date(k.createdAt).toISOString(), createdAtUtc: utc(k.createdAt),
        activatesAt: new Date(k.activatesAt).toISOString(), activatesAtUtc: utc(k.activatesAt),
        stateText: k.state === 'signing' ? 'Signs now' : k.state === 'next' ? 'Published, signs next'
          : `Retiring${k.retiresAt ? ` (published until ${utc(k.retiresAt)})` : ''}`,
      })),
    });
  };

  router.get('/admin/tenants/:tenant/keys', signedIn, async (ctx) => {
    await show(ctx, await tenantFor(ctx, deps.tenants));
  });

  router.post('/admin/tenants/:tenant/keys/rotate', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      const { next, removed } = await deps.signingKeys.rotate(tenant.id);
      await deps.audit.record({ type: 'admin.keys_rotated', tenantId: tenant.id, detail: { kid: next.kid, activatesAt: new Date(next.activatesAt).toISOString(), removed } });
      return `${tenantPath(tenant, 'keys')}?done=rotated`;
    }, (error) => show(ctx, tenant, error));
  });

  return router;
}
