import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import type { UserDetails, UserStatus } from '../../../accounts/user-administration.js';
import { flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

const PAGE_SIZE = 50;
const searchQuery = z.object({
  q: z.string().trim().max(254).optional(),
  page: z.coerce.number().int().min(1).max(100_000).optional(),
});
const confirmForm = z.object({ confirm: z.literal('yes', { errorMap: () => ({ message: 'Tick the box to confirm.' }) }) });

const STATUS_TEXT: Record<UserStatus, string> = {
  active: 'Active',
  disabled: 'Disabled: cannot sign in',
  closed: 'Closed: the address\'s owner made a new account',
};

type UsersDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'userAdmin'>;

/** A tenant's users: search, each person's passkeys and phones, disable or enable, a recovery link by mail, delete. */
export function adminUserRoutes(deps: UsersDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);
  const userPath = (tenant: Tenant, userId: string) => tenantPath(tenant, `users/${encodeURIComponent(userId)}`);

  router.get('/admin/tenants/:tenant/users', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const { q = '', page = 1 } = parseInput(searchQuery, ctx.query);
    const found = await deps.userAdmin.search(tenant.id, { query: q, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    const base = tenantPath(tenant, 'users');
    const pageHref = (n: number) => `${base}?${new URLSearchParams({ ...(q ? { q } : {}), page: String(n) })}`;
    renderConsole(ctx, 'users', {
      title: `Users · ${tenant.name}`, tenant, current: 'users', script: 'admin',
      flash: flashOf(ctx, { deleted: 'The person is deleted, with their passkeys, phones and sessions.' }),
      base, query: q, total: found.total,
      range: `${found.offset + 1}–${found.offset + found.users.length}`,
      users: found.users.map((u) => ({ ...u, href: userPath(tenant, u.id), statusText: STATUS_TEXT[u.status], createdAt: new Date(u.createdAt).toISOString() })),
      previousHref: page > 1 ? pageHref(page - 1) : undefined,
      nextHref: found.offset + found.users.length < found.total ? pageHref(page + 1) : undefined,
    });
  });

  const showUser = async (ctx: Context, tenant: Tenant, user: UserDetails, error?: string) => {
    const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
    renderConsole(ctx, 'user', {
      title: `${user.email} · ${tenant.name}`, tenant, current: 'users', script: 'admin', error,
      flash: flashOf(ctx, {
        disabled: 'They are disabled: they cannot sign in, and their sessions have ended.',
        enabled: 'They can sign in again.',
        'link-sent': `A recovery link is on its way to ${user.email}. It works once, for 15 minutes.`,
      }),
      user, statusText: STATUS_TEXT[user.status],
      base: userPath(tenant, user.id),
      createdAt: iso(user.createdAt),
      auditHref: `${tenantPath(tenant, 'audit')}?${new URLSearchParams({ user: user.email })}`,
      passkeys: user.passkeys.map((p) => ({
        ...p, createdAt: iso(p.createdAt), lastUsedAt: iso(p.lastUsedAt),
        warnings: [p.possiblyCloned ? 'its counter went back (a copy?)' : '', p.mdsFlag ? `FIDO metadata: ${p.mdsFlag}` : ''].filter(Boolean).join('; '),
      })),
      phones: user.phones.map((d) => ({ ...d, createdAt: iso(d.createdAt), lastSeenAt: iso(d.lastSeenAt) })),
    });
  };

  router.get('/admin/tenants/:tenant/users/:userId', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await showUser(ctx, tenant, await deps.userAdmin.get(tenant.id, ctx.params.userId!));
  });

  /** One of a person's actions: done, back to their page with its message; refused, their page with the reason. */
  const action = (done: string, act: (tenant: Tenant, user: UserDetails, ctx: Context) => Promise<string | void>) => async (ctx: Context) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const user = await deps.userAdmin.get(tenant.id, ctx.params.userId!);
    await formAction(ctx, async () => (await act(tenant, user, ctx)) ?? `${userPath(tenant, user.id)}?done=${done}`,
      async (error) => showUser(ctx, tenant, await deps.userAdmin.get(tenant.id, user.id), error));
  };

  router.post('/admin/tenants/:tenant/users/:userId/disable', signedIn, action('disabled', async (tenant, user) => {
    await deps.userAdmin.disableUser(tenant.id, user.id);
  }));
  router.post('/admin/tenants/:tenant/users/:userId/enable', signedIn, action('enabled', async (tenant, user) => {
    await deps.userAdmin.enableUser(tenant.id, user.id);
  }));
  router.post('/admin/tenants/:tenant/users/:userId/recovery-link', signedIn, action('link-sent', async (tenant, user) => {
    await deps.userAdmin.sendRecoveryLink(tenant.id, user.id);
  }));
  router.post('/admin/tenants/:tenant/users/:userId/delete', signedIn, action('deleted', async (tenant, user, ctx) => {
    parseInput(confirmForm, ctx.request.body);
    await deps.userAdmin.deleteUser(tenant.id, user.id);
    return `${tenantPath(tenant, 'users')}?done=deleted`;
  }));

  return router;
}
