import Router from '@koa/router';
import { z } from 'zod';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { CrossDeviceService } from '../../crossdevice/crossdevice-service.js';
import { statusMessage } from '../../crossdevice/crossdevice-service.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import { authenticationResponseSchema } from '../../webauthn/response-schema.js';
import { parseInput } from '../validate.js';
import { challengeId } from '../schemas.js';
import { requireJson } from './require-json.js';
import { counted } from '../../metrics.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';

const chooseBody = z.object({ number: z.number().int().min(10).max(99) });
const approveBody = z.object({ challengeId, response: authenticationResponseSchema });
/** Failures the phone can report; each ends the request as `failed` with that reason. */
const failBody = z.object({ reason: z.enum(['no_passkey_on_phone']) });

export interface CrossDevicePhoneDeps {
  tenants: TenantService;
  crossDevice: CrossDeviceService;
  rateLimits: CeremonyRateLimits;
}

/**
 * The phone half: /<tenant>/x/<id> is what the QR code (or a push) opens. It shows who is asking,
 * takes the number pick, then a passkey assertion on the phone, and approves or denies. The same
 * JSON endpoints serve the SDK (docs/device-api.md).
 */
export function crossDevicePhoneRoutes(deps: CrossDevicePhoneDeps): Router {
  const router = new Router({ prefix: '/:tenant/x/:id' });

  router.get('/', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const details = await deps.crossDevice.details(tenant.id, ctx.params.id);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderPage('approve', {
      nonce: ctx.state.cspNonce,
      title: `Sign-in request · ${tenant.name}`,
      tenantName: tenant.name,
      branding: brandingOf(tenant),
      details,
      pending: details.status === 'pending',
      statusText: statusMessage(details.status, details.reason),
      createdAt: details.createdAt.slice(11, 16),
      createdAtIso: details.createdAt,
      ipText: readableIp(details.ip),
      configJson: jsonForScript({ base: `/${tenant.id}/x/${details.id}`, account: details.account ?? null, tenantName: tenant.name }),
    });
  });

  router.get('/details', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.crossDevice.details(tenant.id, ctx.params.id);
  });

  router.post('/choose', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const { number } = parseInput(chooseBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    ctx.body = await deps.crossDevice.choose(tenant, ctx.params.id, number);
  });

  router.post('/approve', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const body = parseInput(approveBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    await counted('crossdevice_approve', deps.crossDevice.approve(tenant, ctx.params.id, body));
    ctx.body = { status: 'approved', message: 'Approved. You can go back to your computer.' };
  });

  router.post('/deny', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    await deps.crossDevice.deny(tenant.id, ctx.params.id);
    ctx.body = { status: 'denied', message: 'Denied. Nobody is signed in with this request.' };
  });

  router.post('/fail', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const { reason } = parseInput(failBody, ctx.request.body);
    await deps.crossDevice.reportNoPasskey(tenant.id, ctx.params.id);
    ctx.body = { status: 'failed', reason, message: 'Your computer was told that this phone has no passkey for the account.' };
  });

  return router;
}

/** The desktop's address as a person reads it: a loopback address is the machine Sesame runs on. */
export function readableIp(ip: string): string {
  const address = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (address === '::1' || /^127\./.test(address)) return 'this computer';
  return address;
}
