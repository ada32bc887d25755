import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { InvitationService } from '../../accounts/invitations.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import { parseInput } from '../validate.js';
import { badRequest } from '../../errors.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';
import { requireJson } from './require-json.js';

const INVITATION_COOKIE = 'sesame_invitation';
const acceptBody = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'This invitation link is incomplete. Copy the whole link.') });

export interface InvitationDeps {
  tenants: TenantService;
  invitations: InvitationService;
  rateLimits: CeremonyRateLimits;
}

/** The invitation token this browser accepted for the tenant, if any (the sign-up endpoints read it). */
export const invitationToken = (ctx: Context): string | undefined => ctx.cookies.get(INVITATION_COOKIE) || undefined;

/** After the account is made: the next person at this browser does not inherit the invitation (a team link may have uses left). */
export function forgetInvitation(ctx: Context, tenantId: string): void {
  if (invitationToken(ctx)) ctx.cookies.set(INVITATION_COOKIE, null, { path: `/${tenantId}/`, overwrite: true });
}

/**
 * /<tenant>/invitation: the page an invitation link opens. Accepting keeps the token in a cookie
 * (HttpOnly, SameSite=Lax, scoped to the tenant's path, until the invitation expires or an account is
 * made with it), which the sign-up at this tenant then presents: the person signs up through the
 * application as usual.
 */
export function invitationRoutes(deps: InvitationDeps): Router {
  const router = new Router();

  router.get('/:tenant/invitation', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = renderPage('invitation', {
      nonce: ctx.state.cspNonce,
      title: `Invitation · ${tenant.name}`,
      tenantName: tenant.name,
      branding: brandingOf(tenant),
      configJson: jsonForScript({ base: `/${tenant.id}/invitation` }),
    });
  });

  router.post('/:tenant/invitation', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    await deps.rateLimits.consume(ctx.ip);
    const { token } = parseInput(acceptBody, ctx.request.body);
    const invitation = await deps.invitations.usable(tenant.id, token);
    if (!invitation) throw badRequest('This invitation has expired, was used up or withdrawn. Ask the person who invited you for a new one.', 'invitation_invalid');
    ctx.cookies.set(INVITATION_COOKIE, token, {
      httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: `/${tenant.id}/`, overwrite: true, expires: new Date(invitation.expiresAt),
    });
    ctx.body = {
      expiresAt: new Date(invitation.expiresAt).toISOString(),
      message: `Your invitation is accepted in this browser${invitation.email ? ` for ${invitation.email}` : ''}. Now open the application you were invited to and choose to create an account.`,
    };
  });

  return router;
}
