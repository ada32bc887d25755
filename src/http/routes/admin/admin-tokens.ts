import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import { DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS } from '../../../admin/api-tokens.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import { flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

const createForm = z.object({
  name: z.string().trim().max(100, 'A token\'s name has at most 100 characters.').optional(),
  days: z.coerce.number({ invalid_type_error: 'Give the number of days.' }).int('Give a whole number of days.').min(1).max(MAX_TOKEN_DAYS, `A token works at most ${MAX_TOKEN_DAYS} days.`),
});
const revokeForm = z.object({ tokenId: z.string().min(1).max(64) });

type TokensDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'apiTokens' | 'config'>;

/** A tenant's admin API tokens in the console: list, make one (shown once), revoke. */
export function adminTokenRoutes(deps: TokensDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);

  const show = async (ctx: Context, tenant: Tenant, error?: string, values: Record<string, unknown> = {}) => {
    const now = Date.now();
    const tokens = await deps.apiTokens.list(tenant.id);
    const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
    renderConsole(ctx, 'tokens', {
      title: `API tokens · ${tenant.name}`, tenant, current: 'tokens', script: 'admin', error,
      flash: flashOf(ctx, { revoked: 'The token is revoked: it no longer works.' }),
      base: tenantPath(tenant, 'tokens'),
      maxDays: MAX_TOKEN_DAYS,
      values: { name: typeof values.name === 'string' ? values.name.slice(0, 100) : '', days: typeof values.days === 'string' ? values.days.slice(0, 10) : String(DEFAULT_TOKEN_DAYS) },
      tokens: tokens.map((t) => ({
        id: t.id, name: t.name, lastUsedAt: iso(t.lastUsedAt),
        usable: t.revokedAt === null && t.expiresAt > now,
        state: t.revokedAt !== null ? 'Revoked' : t.expiresAt <= now ? 'Expired' : `Works until ${iso(t.expiresAt)!.slice(0, 10)}`,
      })),
    });
  };

  router.get('/admin/tenants/:tenant/tokens', signedIn, async (ctx) => {
    await show(ctx, await tenantFor(ctx, deps.tenants));
  });

  router.post('/admin/tenants/:tenant/tokens', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    await formAction(ctx, async () => {
      const form = parseInput(createForm, raw);
      const { token, record } = await deps.apiTokens.create({ tenantId: tenant.id, name: form.name, expiresInDays: form.days });
      renderConsole(ctx, 'token-created', {
        title: `API token · ${tenant.name}`, tenant, current: 'tokens', script: 'admin',
        name: record.name, token, expiresAt: new Date(record.expiresAt).toISOString(),
        apiBase: `${deps.config.publicUrl}/api/tenants/${encodeURIComponent(tenant.id)}`,
        back: tenantPath(tenant, 'tokens'),
      });
    }, (error) => show(ctx, tenant, error, raw));
  });

  router.post('/admin/tenants/:tenant/tokens/revoke', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      const { tokenId } = parseInput(revokeForm, ctx.request.body);
      await deps.apiTokens.revoke(tokenId, tenant.id);
      return `${tenantPath(tenant, 'tokens')}?done=revoked`;
    }, (error) => show(ctx, tenant, error));
  });

  return router;
}
