import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { ADMIN_SESSION_MS, isOperator } from '../../../admin/admin-accounts.js';
import { OPERATOR_MAIL } from '../../../mail/mail-service.js';
import { authenticationResponseSchema, registrationResponseSchema } from '../../../webauthn/response-schema.js';
import { parseInput } from '../../validate.js';
import { challengeId } from '../../schemas.js';
import { randomId } from '../../../ids.js';
import { issuerFor } from '../../../oidc/issuer.js';
import { setAuditActor } from '../../../audit/audit-context.js';
import { jsonForScript } from '../../../views/render.js';
import { requireJson } from '../require-json.js';
import { ADMIN_CEREMONY_COOKIE, ADMIN_COOKIE, adminCookieOptions, homeOf, renderConsole, safeNext, tenantPath } from './console.js';

const token = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'This link is not complete. Open it again from the mail, or copy all of it.');
const signInVerifyBody = z.object({ challengeId, response: authenticationResponseSchema, next: z.string().max(2048).optional() });
const enrolOptionsBody = z.object({ token });
const enrolVerifyBody = z.object({ token, challengeId, response: registrationResponseSchema });

type AuthDeps = Pick<Services, 'adminAccounts' | 'adminSignInLimits' | 'audit' | 'mail' | 'config'>;

/**
 * Signing in to the console (PUBLIC_URL/admin) with a passkey, signing out, and the one-time
 * enrolment links that make an administrator's passkey (sesame admin create, invitations, onboarding).
 */
export function adminAuthRoutes(deps: AuthDeps): Router {
  const router = new Router();
  const { adminAccounts: accounts } = deps;

  const ceremonyBinding = (ctx: Context): string => {
    let binding = ctx.cookies.get(ADMIN_CEREMONY_COOKIE);
    if (!binding || !/^[A-Za-z0-9_-]{22}$/.test(binding)) {
      binding = randomId(16);
      ctx.cookies.set(ADMIN_CEREMONY_COOKIE, binding, adminCookieOptions(ctx, 15 * 60 * 1000));
    }
    return binding;
  };

  router.get('/admin', async (ctx) => {
    const session = await accounts.readSession(ctx.cookies.get(ADMIN_COOKIE));
    if (session) {
      ctx.redirect(safeNext(ctx.query.next) ?? homeOf(session.admin));
      return;
    }
    ceremonyBinding(ctx);
    renderConsole(ctx, 'signin', {
      title: 'Sign in', script: 'admin',
      flash: ctx.query.done === 'signed-out' ? 'You are signed out.' : undefined,
      configJson: jsonForScript({ next: safeNext(ctx.query.next) ?? null }),
    });
  });

  router.post('/admin/signin/options', requireJson, async (ctx) => {
    await deps.adminSignInLimits.consume(ctx.ip);
    ctx.body = await accounts.startSignIn(ceremonyBinding(ctx));
  });

  router.post('/admin/signin/verify', requireJson, async (ctx) => {
    const body = parseInput(signInVerifyBody, ctx.request.body);
    await deps.adminSignInLimits.consume(ctx.ip);
    const { admin, credentialId } = await accounts.finishSignIn(ceremonyBinding(ctx), body);
    ctx.cookies.set(ADMIN_COOKIE, await accounts.openSession(admin.id, credentialId), adminCookieOptions(ctx, ADMIN_SESSION_MS));
    setAuditActor(`admin:${admin.email}`);
    await deps.audit.record({ type: 'admin.signed_in', tenantId: admin.tenantId, detail: { admin: admin.email, credentialId } });
    ctx.body = { redirectTo: safeNext(body.next) ?? homeOf(admin) };
  });

  router.post('/admin/signout', async (ctx) => {
    await accounts.endSession(ctx.cookies.get(ADMIN_COOKIE));
    ctx.cookies.set(ADMIN_COOKIE, null, adminCookieOptions(ctx, 0));
    ctx.status = 303;
    ctx.redirect('/admin?done=signed-out');
  });

  router.get('/admin/enrol', async (ctx) => {
    renderConsole(ctx, 'enrol', { title: 'Create your console passkey', script: 'admin' });
  });

  router.post('/admin/enrol/options', requireJson, async (ctx) => {
    const body = parseInput(enrolOptionsBody, ctx.request.body);
    await deps.adminSignInLimits.consume(ctx.ip);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await accounts.startEnrolment(body.token);
  });

  router.post('/admin/enrol/verify', requireJson, async (ctx) => {
    const body = parseInput(enrolVerifyBody, ctx.request.body);
    await deps.adminSignInLimits.consume(ctx.ip);
    const { admin, credentialId, invitation, createdTenant } = await accounts.finishEnrolment(body.token, body);
    setAuditActor(`admin:${admin.email}`);
    if (createdTenant) {
      await deps.audit.record({ type: 'admin.tenant_created', tenantId: createdTenant.id, detail: { name: createdTenant.name, via: 'onboarding' } });
      const issuer = issuerFor(deps.config.publicUrl, createdTenant.id);
      await deps.mail.enqueue({
        tenantId: OPERATOR_MAIL, to: admin.email, template: 'tenant-ready',
        data: { organisation: createdTenant.name, consoleUrl: `${deps.config.publicUrl}${tenantPath(createdTenant)}`, issuer, metadataUrl: `${issuer}/.well-known/openid-configuration` },
      });
    }
    await deps.audit.record({ type: 'admin.enrolled', tenantId: admin.tenantId, detail: { admin: admin.email, credentialId, via: invitation.kind, invitedBy: invitation.invitedBy } });
    ctx.cookies.set(ADMIN_COOKIE, await accounts.openSession(admin.id, credentialId), adminCookieOptions(ctx, ADMIN_SESSION_MS));
    ctx.body = { redirectTo: createdTenant ? `${tenantPath(createdTenant)}?done=welcome` : isOperator(admin) ? '/admin/tenants' : tenantPath({ id: admin.tenantId }) };
  });

  return router;
}
