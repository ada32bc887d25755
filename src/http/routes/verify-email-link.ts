import Router from '@koa/router';
import { z } from 'zod';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { EmailVerificationService } from '../../accounts/email-verification.js';
import { parseInput } from '../validate.js';
import { renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';

const linkParams = z.object({ v: z.string().min(1).max(64), t: z.string().min(1).max(128) });

/**
 * /<tenant>/verify-email: the link of the verification mail, on any device. Opening it shows a
 * button; only the POST proves the address, so a mail scanner that fetches links proves nothing.
 */
export function verifyEmailLinkRoutes(deps: { tenants: TenantService; emailVerification: EmailVerificationService }): Router {
  const router = new Router();

  router.get('/:tenant/verify-email', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const { v, t } = parseInput(linkParams, ctx.query);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.type = 'html';
    ctx.body = renderPage('verify-email', {
      nonce: ctx.state.cspNonce, title: `Confirm your e-mail address · ${tenant.name}`, tenantName: tenant.name, branding: brandingOf(tenant),
      action: `/${tenant.id}/verify-email`, verificationId: v, token: t,
    });
  });

  router.post('/:tenant/verify-email', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const { v, t } = parseInput(linkParams, ctx.request.body);
    const proved = await deps.emailVerification.proveWithLink(tenant, v, t);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = renderPage('error', {
      nonce: ctx.state.cspNonce,
      title: `Address confirmed · ${tenant.name}`,
      heading: 'Your e-mail address is confirmed',
      message: proved.purpose === 'signup'
        ? `Thank you: ${proved.email} is confirmed. Go back to the page where you are creating your account; it continues there.`
        : `Thank you: your ${tenant.name} account now uses ${proved.email}.`,
      actions: proved.purpose === 'account' ? [{ href: `/${tenant.id}/account`, label: 'Open my account page', primary: true }] : [],
    });
  });

  return router;
}
