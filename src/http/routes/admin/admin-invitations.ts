import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import type { Invitation } from '../../../storage/repositories/invitations.js';
import { MAX_INVITATION_DAYS, MAX_INVITATION_USES } from '../../../accounts/invitations.js';
import { flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

/** A form's checkboxes of one name: absent, one value or several. */
const many = z.union([z.string(), z.array(z.string())]).optional().transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
const inviteForm = z.object({
  email: z.string().trim().max(254).optional().transform((v) => v || undefined),
  send: z.literal('on').optional(),
  maxUses: z.coerce.number({ invalid_type_error: 'Give how many accounts it may create.' }).int().min(1).max(MAX_INVITATION_USES),
  days: z.coerce.number({ invalid_type_error: 'Give how many days it works.' }).int().min(1).max(MAX_INVITATION_DAYS),
  groupIds: many,
  clientId: z.string().trim().max(200).optional().transform((v) => v || undefined),
});
const revokeForm = z.object({ invitationId: z.string().min(1).max(100) });
const signupForm = z.object({ signup: z.enum(['open', 'invitation']) });

type InvitationsDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'invitations' | 'groups' | 'clientAdmin' | 'audit'>;

function stateOf(invitation: Invitation, now: number): { text: string; usable: boolean } {
  if (invitation.revokedAt !== null) return { text: 'Withdrawn', usable: false };
  if (invitation.uses >= invitation.maxUses) return { text: 'Used up', usable: false };
  if (invitation.expiresAt <= now) return { text: 'Expired', usable: false };
  return { text: 'Open', usable: true };
}

/** Sign-up invitations: who may create an account, invitations mailed or given as a link (shown once), withdrawn. */
export function adminInvitationRoutes(deps: InvitationsDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);

  const show = async (ctx: Context, tenant: Tenant, error?: string, values: Record<string, unknown> = {}) => {
    const [invitations, groups, clients] = await Promise.all([deps.invitations.list(tenant.id), deps.groups.list(tenant.id), deps.clientAdmin.list(tenant.id)]);
    const groupNames = new Map(groups.map((g) => [g.id, g.name]));
    const now = Date.now();
    const typed = (key: string, fallback: string) => (typeof values[key] === 'string' ? String(values[key]).slice(0, 254) : fallback);
    const chosenGroups = new Set(Array.isArray(values.groupIds) ? values.groupIds : [values.groupIds]);
    renderConsole(ctx, 'invitations', {
      title: `Invitations · ${tenant.name}`, tenant, current: 'invitations', script: 'admin', error,
      flash: flashOf(ctx, {
        sent: 'The invitation is on its way. Only the person it is for holds the link.',
        withdrawn: 'The invitation is withdrawn: its link no longer works.',
        signup: 'Who may create an account is saved.',
      }),
      base: tenantPath(tenant, 'invitations'),
      signup: tenant.signup ?? 'open',
      invitations: invitations.map((i) => {
        const iso = new Date(i.expiresAt).toISOString();
        return {
          ...i, ...stateOf(i, now), expiresAt: iso,
          groupNames: i.groupIds.map((id) => groupNames.get(id) ?? id).join(', '),
        };
      }),
      groups: groups.map((g) => ({ id: g.id, name: g.name, checked: chosenGroups.has(g.id) })),
      clients: clients.map((c) => ({ clientId: c.clientId, name: c.name, selected: values.clientId === c.clientId })),
      maxDays: MAX_INVITATION_DAYS, maxUses: MAX_INVITATION_USES,
      values: { email: typed('email', ''), send: Object.keys(values).length === 0 || values.send === 'on', maxUses: typed('maxUses', '1'), days: typed('days', '7') },
    });
  };

  router.get('/admin/tenants/:tenant/invitations', signedIn, async (ctx) => {
    await show(ctx, await tenantFor(ctx, deps.tenants));
  });

  router.post('/admin/tenants/:tenant/invitations', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    await formAction(ctx, async () => {
      const form = parseInput(inviteForm, raw);
      const send = form.send === 'on';
      const created = await deps.invitations.create(tenant.id, {
        email: form.email, send, maxUses: form.maxUses, expiresInDays: form.days, groupIds: form.groupIds,
        clientId: send ? form.clientId : undefined,
      });
      if (created.sentTo !== undefined) return `${tenantPath(tenant, 'invitations')}?done=sent`;
      renderConsole(ctx, 'invitation-created', {
        title: `An invitation link · ${tenant.name}`, tenant, current: 'invitations',
        link: created.link,
        email: created.invitation.email,
        maxUses: created.invitation.maxUses,
        expiresAt: new Date(created.invitation.expiresAt).toISOString(),
        back: tenantPath(tenant, 'invitations'),
      });
    }, (error) => show(ctx, tenant, error, raw));
  });

  router.post('/admin/tenants/:tenant/invitations/withdraw', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      await deps.invitations.revoke(tenant.id, parseInput(revokeForm, ctx.request.body).invitationId);
      return `${tenantPath(tenant, 'invitations')}?done=withdrawn`;
    }, (error) => show(ctx, tenant, error));
  });

  router.post('/admin/tenants/:tenant/invitations/signup', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      await deps.tenants.setSignup(tenant.id, parseInput(signupForm, ctx.request.body).signup);
      await deps.audit.record({ type: 'admin.tenant_changed', tenantId: tenant.id, detail: { settings: ['signup'] } });
      return `${tenantPath(tenant, 'invitations')}?done=signup`;
    }, (error) => show(ctx, tenant, error));
  });

  return router;
}
