import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import { email } from '../../schemas.js';
import { INVITATION_TTL_MS } from '../../../admin/admin-accounts.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import { adminOf, flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

const inviteForm = z.object({ email });
const removeForm = z.object({ adminId: z.string().min(1).max(64) });
const withdrawForm = z.object({ invitationId: z.string().min(1).max(64) });

type AdminsDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'audit' | 'mail'>;

/** A tenant's administrators: who they are, inviting more by e-mail, removing one, withdrawing an invitation. */
export function adminAdminsRoutes(deps: AdminsDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);
  const accounts = deps.adminAccounts;

  const show = async (ctx: Context, tenant: Tenant, error?: string, inviteEmail = '') => {
    const me = adminOf(ctx);
    const admins = await accounts.listAdmins(tenant.id);
    const invitations = await accounts.listOpenInvitations(tenant.id);
    renderConsole(ctx, 'admins', {
      title: `Administrators · ${tenant.name}`, tenant, current: 'admins', script: 'admin', error, inviteEmail,
      flash: flashOf(ctx, { invited: 'The invitation is on its way.', removed: 'The administrator is removed; their sessions have ended.', withdrawn: 'The invitation is withdrawn; its link no longer works.' }),
      base: tenantPath(tenant, 'admins'),
      admins: admins.map((a) => ({
        id: a.id, email: a.email, passkeys: a.passkeys, you: a.id === me.id,
        createdAt: new Date(a.createdAt).toISOString(), lastSignInAt: a.lastSignInAt === null ? null : new Date(a.lastSignInAt).toISOString(),
      })),
      invitations: invitations.map((i) => ({ id: i.id, email: i.email, invitedBy: i.invitedBy, expiresAt: new Date(i.expiresAt).toISOString() })),
    });
  };

  router.get('/admin/tenants/:tenant/admins', signedIn, async (ctx) => {
    await show(ctx, await tenantFor(ctx, deps.tenants));
  });

  router.post('/admin/tenants/:tenant/admins/invite', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const typed = typeof (ctx.request.body as { email?: unknown })?.email === 'string' ? String((ctx.request.body as { email: string }).email).slice(0, 254) : '';
    await formAction(ctx, async () => {
      const form = parseInput(inviteForm, ctx.request.body);
      const by = adminOf(ctx);
      const { invitation, link } = await accounts.inviteTenantAdmin(tenant.id, form.email, by);
      await deps.mail.enqueue({
        tenantId: tenant.id, to: invitation.email, template: 'admin-invite',
        data: { link, expiresInHours: INVITATION_TTL_MS / 3600_000, tenantName: tenant.name, invitedBy: by.email },
      });
      await deps.audit.record({ type: 'admin.invited', tenantId: tenant.id, detail: { email: invitation.email, invitationId: invitation.id } });
      return `${tenantPath(tenant, 'admins')}?done=invited`;
    }, (error) => show(ctx, tenant, error, typed));
  });

  router.post('/admin/tenants/:tenant/admins/remove', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      const { adminId } = parseInput(removeForm, ctx.request.body);
      const removed = await accounts.removeAdmin(tenant.id, adminId, adminOf(ctx));
      await deps.audit.record({ type: 'admin.removed', tenantId: tenant.id, detail: { email: removed.email } });
      return `${tenantPath(tenant, 'admins')}?done=removed`;
    }, (error) => show(ctx, tenant, error));
  });

  router.post('/admin/tenants/:tenant/admins/withdraw', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      const { invitationId } = parseInput(withdrawForm, ctx.request.body);
      await accounts.withdrawInvitation(tenant.id, invitationId);
      await deps.audit.record({ type: 'admin.invitation_withdrawn', tenantId: tenant.id, detail: { invitationId } });
      return `${tenantPath(tenant, 'admins')}?done=withdrawn`;
    }, (error) => show(ctx, tenant, error));
  });

  return router;
}
