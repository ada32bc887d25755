import Router from '@koa/router';
import type { Services } from '../../../services.js';
import { forbidden } from '../../../errors.js';
import { isOperator } from '../../../admin/admin-accounts.js';
import { describeReason } from '../../../admin/failure-reasons.js';
import { issuerFor } from '../../../oidc/issuer.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import { connectB2c } from './admin-clients.js';
import { adminOf, flashOf, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

const DASHBOARD_DAYS = 14;

const METHODS = [
  { key: 'passkey', label: 'Passkey' }, { key: 'account', label: 'Account page' }, { key: 'phone', label: 'Phone' },
  { key: 'signup', label: 'Sign-up' }, { key: 'recovery', label: 'Recovery' },
] as const;

type TenantsDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'auditStats' | 'clientAdmin' | 'config'>;

/** Where a tenant is reached: its console, issuer and metadata (the dashboard and the welcome mail say the same). */
export function accessDetails(publicUrl: string, tenant: Pick<Tenant, 'id'>) {
  const issuer = issuerFor(publicUrl, tenant.id);
  return {
    consoleUrl: `${publicUrl}${tenantPath(tenant)}`,
    issuer,
    metadataUrl: `${issuer}/.well-known/openid-configuration`,
    accountUrl: `${publicUrl}/${encodeURIComponent(tenant.id)}/account`,
  };
}

/** The operator's list of tenants, and each tenant's overview: access details and the dashboard. */
export function adminTenantRoutes(deps: TenantsDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);

  router.get('/admin/tenants', signedIn, async (ctx) => {
    const admin = adminOf(ctx);
    if (!isOperator(admin)) throw forbidden('Only operator administrators see every tenant.', 'operator_only');
    const tenants = await deps.tenants.listTenants();
    renderConsole(ctx, 'tenants', {
      title: 'Tenants', script: 'admin',
      tenants: tenants.map((t) => ({ id: t.id, name: t.name, href: tenantPath(t), issuer: issuerFor(deps.config.publicUrl, t.id), createdAt: new Date(t.createdAt).toISOString() })),
    });
  });

  router.get('/admin/tenants/:tenant', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const stats = await deps.auditStats.dashboard(tenant.id, DASHBOARD_DAYS);
    renderConsole(ctx, 'dashboard', {
      title: tenant.name, tenant, current: '', script: 'admin',
      welcome: ctx.query.done === 'welcome',
      flash: flashOf(ctx, {}),
      access: accessDetails(deps.config.publicUrl, tenant),
      days: DASHBOARD_DAYS,
      methods: METHODS,
      stats: { ...stats, failures: stats.failures.map((f) => ({ ...f, description: describeReason(f.reason) })) },
      auditHref: tenantPath(tenant, 'audit'),
      connect: connectB2c(tenant, (await deps.clientAdmin.list(tenant.id)).length),
    });
  });

  return router;
}
