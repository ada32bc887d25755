import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type { PasskeyService } from '../../accounts/passkey-service.js';
import type { SecurityNotices } from '../../accounts/security-notices.js';
import { timeZone } from '../schemas.js';
import type { Context } from 'koa';
import { z } from 'zod';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { PassportService } from '../../passport/passport-service.js';
import type { PushDispatcher } from '../../crossdevice/push-dispatcher.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import { authenticationResponseSchema, registrationResponseSchema } from '../../webauthn/response-schema.js';
import { parseInput } from '../validate.js';
import { challengeId } from '../schemas.js';
import { requireJson } from './require-json.js';
import { counted } from '../../metrics.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';
import type { AuditLog } from '../../audit/audit-log.js';

const pushSubscription = z.object({
  endpoint: z.string().url().max(2048).refine((u) => u.startsWith('https://'), 'must be an https URL'),
  keys: z.object({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
});
const deviceName = z.string().trim().min(1, 'must not be empty').max(60);
const token = z.string().regex(/^[A-Za-z0-9_-]{20,64}$/, 'must be an enrolment token');
const ceremony = { challengeId };
const tokenOptionsBody = z.object({ token });
const tokenEnrolBody = z.object({ token, ...ceremony, response: registrationResponseSchema, name: deviceName, pushSubscription: pushSubscription.optional(), timeZone });
const passkeyEnrolBody = z.object({ ...ceremony, response: authenticationResponseSchema, name: deviceName, pushSubscription: pushSubscription.optional(), timeZone });
const pushBody = z.object({ subscription: pushSubscription.nullable() });

export interface PassportDeps {
  tenants: TenantService;
  passport: PassportService;
  push: PushDispatcher;
  rateLimits: CeremonyRateLimits;
  projectRoot: string;
  passkeys: PasskeyService;
  securityNotices: SecurityNotices;
  audit: AuditLog;
}

/**
 * Passport, the installable phone app (/<tenant>/passport/) and the device API that it and the
 * SDK use (docs/device-api.md). Device calls authenticate with `Authorization: Bearer <device token>`.
 */
export function passportRoutes(deps: PassportDeps): Router {
  const router = new Router({ prefix: '/:tenant/passport' });
  let serviceWorker: Buffer | undefined;

  router.get('/', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    if (!ctx.path.endsWith('/')) {
      // To the tenant's canonical id, never to what the path said: `/%2Fevil.example/passport` must not become `//evil.example/…`.
      ctx.redirect(`/${tenant.id}/passport/`);
      return;
    }
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderPage('passport', {
      nonce: ctx.state.cspNonce,
      title: `Passport · ${tenant.name}`,
      tenantName: tenant.name,
      branding: brandingOf(tenant),
      manifest: `/${tenant.id}/passport/manifest.webmanifest`,
      configJson: jsonForScript({ base: `/${tenant.id}/passport`, tenant: tenant.id, tenantName: tenant.name }),
    });
  });

  router.get('/manifest.webmanifest', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    ctx.type = 'application/manifest+json';
    ctx.body = {
      name: `Passport · ${tenant.name}`,
      short_name: 'Passport',
      description: `Approve sign-ins to ${tenant.name} from this phone.`,
      id: `/${tenant.id}/passport/`,
      start_url: `/${tenant.id}/passport/`,
      scope: `/${tenant.id}/passport/`,
      display: 'standalone',
      background_color: '#f6f8fa',
      theme_color: '#2563eb',
      icons: [{ src: '/static/passport-icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
    };
  });

  router.get('/sw.js', async (ctx) => {
    await deps.tenants.requireTenant(ctx.params.tenant);
    serviceWorker ??= fs.readFileSync(path.join(deps.projectRoot, 'public/build/passport-sw.js'));
    ctx.type = 'text/javascript';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = serviceWorker;
  });

  router.get('/api/vapid', async (ctx) => {
    await deps.tenants.requireTenant(ctx.params.tenant);
    ctx.body = { publicKey: (await deps.push.vapidKeys()).publicKey };
  });

  router.post('/api/enrol/token/options', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    await deps.rateLimits.consume(ctx.ip);
    ctx.body = await deps.passport.startTokenEnrolment(tenant, parseInput(tokenOptionsBody, ctx.request.body).token);
  });

  router.post('/api/enrol/token', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const body = parseInput(tokenEnrolBody, ctx.request.body);
    deps.push.checkSubscription(body.pushSubscription);
    await deps.rateLimits.consume(ctx.ip);
    const enrolled = await counted('passport_enrol', deps.passport.finishTokenEnrolment(tenant, body));
    await deps.audit.record({ type: 'phone.enrolled', tenantId: tenant.id, userId: enrolled.userId, detail: { deviceId: enrolled.deviceId, credentialId: enrolled.credentialId, name: body.name, push: Boolean(body.pushSubscription) } });
    await notifyEnrolled(ctx, tenant.id, enrolled.userId, body);
    ctx.body = enrolled;
  });

  router.post('/api/enrol/passkey/options', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    await deps.rateLimits.consume(ctx.ip);
    ctx.body = await deps.passport.startPasskeyEnrolment(tenant);
  });

  router.post('/api/enrol/passkey', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const body = parseInput(passkeyEnrolBody, ctx.request.body);
    deps.push.checkSubscription(body.pushSubscription);
    await deps.rateLimits.consume(ctx.ip);
    const enrolled = await counted('passport_enrol', deps.passport.finishPasskeyEnrolment(tenant, body));
    await deps.audit.record({ type: 'phone.enrolled', tenantId: tenant.id, userId: enrolled.userId, detail: { deviceId: enrolled.deviceId, credentialId: enrolled.credentialId, name: body.name, push: Boolean(body.pushSubscription) } });
    await notifyEnrolled(ctx, tenant.id, enrolled.userId, body);
    ctx.body = enrolled;
  });

  const notifyEnrolled = async (ctx: Context, tenantId: string, userId: string, body: { name: string; timeZone?: string }) => {
    const user = await deps.passkeys.findUser(tenantId, userId);
    if (user) await deps.securityNotices.notify(user, 'phone-enrolled', { userAgent: ctx.get('user-agent'), timeZone: body.timeZone }, body.name);
  };

  const device = async (ctx: Context) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    return deps.passport.authenticate(tenant, ctx.get('authorization'));
  };

  router.get('/api/device', async (ctx) => {
    const d = await device(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      deviceId: d.id, name: d.name, userId: d.userId, account: await deps.passport.account(d),
      push: Boolean(d.pushSubscription), createdAt: new Date(d.createdAt).toISOString(),
    };
  });

  router.post('/api/device/push', requireJson, async (ctx) => {
    const d = await device(ctx);
    const { subscription } = parseInput(pushBody, ctx.request.body);
    deps.push.checkSubscription(subscription);
    await deps.passport.setPushSubscription(d, subscription);
    ctx.body = { push: true };
  });

  router.post('/api/device/remove', requireJson, async (ctx) => {
    const d = await device(ctx);
    await deps.passport.removeDevice(d.tenantId, d.userId, d.id);
    await deps.audit.record({ type: 'phone.removed', tenantId: d.tenantId, userId: d.userId, detail: { deviceId: d.id, via: 'passport' } });
    ctx.body = { removed: true };
  });

  router.get('/api/requests', async (ctx) => {
    const d = await device(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { requests: await deps.passport.pendingRequests(d) };
  });

  return router;
}
