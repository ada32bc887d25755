import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { ProviderRegistry } from '../../oidc/provider-registry.js';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { Tenant } from '../../storage/repositories/tenants.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import type { RecoveredSignIn, RecoveringClient, RecoveryService } from '../../accounts/recovery-service.js';
import { RECOVERY_TTL_MS } from '../../accounts/recovery-service.js';
import type { Recovery } from '../../storage/repositories/recovery.js';
import { finishLogin, loadInteraction } from './interaction-context.js';
import { registrationResponseSchema } from '../../webauthn/response-schema.js';
import { parseInput } from '../validate.js';
import { challengeId, email } from '../schemas.js';
import { randomId } from '../../ids.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';
import { requireJson } from './require-json.js';
import { counted } from '../../metrics.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { describePasskey } from '../../accounts/passkey-names.js';

const timeZone = z.string().max(64).regex(/^[A-Za-z0-9_+\-/]+$/).optional().catch(undefined);
const code = z.string().trim().min(1, 'Enter the code.').max(64, 'This is not a code we sent.');
const sendBody = z.object({ email });
const redeemBody = z.object({ email, code, timeZone });
const linkBody = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'This sign-in link is incomplete. Copy the whole link.'), timeZone });
const passkeyVerifyBody = z.object({ challengeId, response: registrationResponseSchema });
const finishBody = z.object({ remove: z.array(z.string().min(1).max(1024)).max(100) });

const BROWSER_COOKIE = 'sesame_recovery';

export interface RecoveryDeps {
  registry: ProviderRegistry;
  tenants: TenantService;
  recovery: RecoveryService;
  rateLimits: CeremonyRateLimits;
  recoveryMailLimits: CeremonyRateLimits;
  audit: AuditLog;
}

/** Where a recovery lives, and how it ends: in an OIDC sign-in, or (an administrator's link) on its own page. */
interface RecoveryPlace {
  tenant: Tenant;
  binding: string;
  /** Base path of the recovery page and its calls. */
  base: string;
  finish(signedIn: RecoveredSignIn): Promise<string>;
}

/**
 * Account recovery over HTTP ("Lost your passkey?"). On the sign-in page (bound to its OIDC
 * interaction): ask for an e-mailed code and redeem it, or redeem a recovery code; then the
 * recovery page at …/interaction/<uid>/recovery: a new passkey on this device, the old passkeys
 * to remove, and the sign-in completes. An administrator's link opens the same recovery page at
 * /<tenant>/recovery, bound to this browser by a cookie, and ends there.
 */
export function recoveryRoutes(deps: RecoveryDeps): Router {
  const router = new Router();
  const client = (ctx: Context, zone?: string): RecoveringClient => ({ ip: ctx.ip, userAgent: ctx.get('user-agent'), ...(zone ? { timeZone: zone } : {}) });

  const inInteraction = async (ctx: Context): Promise<RecoveryPlace> => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    return {
      tenant,
      binding: `interaction:${interaction.uid}`,
      base: `/${tenant.id}/interaction/${interaction.uid}/recovery`,
      finish: (signedIn) => finishLogin(ctx, oidc, interaction, { accountId: signedIn.user.id, amr: signedIn.amr, credentialId: signedIn.credentialId }),
    };
  };
  const inBrowser = async (ctx: Context): Promise<RecoveryPlace> => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const cookie = ctx.cookies.get(BROWSER_COOKIE);
    return {
      tenant,
      binding: browserBinding(cookie && /^[A-Za-z0-9_-]{43}$/.test(cookie) ? cookie : randomId(32)),
      base: `/${tenant.id}/recovery`,
      finish: async () => `/${tenant.id}/recovery/done`,
    };
  };

  router.post('/:tenant/interaction/:uid/recovery/email', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(sendBody, ctx.request.body);
    await deps.recoveryMailLimits.consume(ctx.ip, `${tenant.id}:${body.email}`);
    await deps.recovery.sendEmailCode(tenant, interaction.uid, body.email);
    ctx.body = { message: `If this address has an account, we sent a code to it. It works for ${RECOVERY_TTL_MS / 60_000} minutes.` };
  });

  router.post('/:tenant/interaction/:uid/recovery/email/verify', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(redeemBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, `${tenant.id}:${body.email}`);
    const recovery = await counted('recovery_email_code', deps.recovery.redeemEmailCode(tenant, interaction.uid, body, client(ctx, body.timeZone)));
    await deps.audit.record({ type: 'recovery.started', tenantId: tenant.id, userId: recovery.userId, detail: { method: recovery.method, recoveryId: recovery.id } });
    ctx.body = { redirectTo: `/${tenant.id}/interaction/${interaction.uid}/recovery` };
  });

  router.post('/:tenant/interaction/:uid/recovery/code', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(redeemBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, `${tenant.id}:${body.email}`);
    const recovery = await counted('recovery_code', deps.recovery.redeemRecoveryCode(tenant, interaction.uid, body, client(ctx, body.timeZone)));
    await deps.audit.record({ type: 'recovery.started', tenantId: tenant.id, userId: recovery.userId, detail: { method: recovery.method, recoveryId: recovery.id } });
    ctx.body = { redirectTo: `/${tenant.id}/interaction/${interaction.uid}/recovery` };
  });

  router.get('/:tenant/recovery/link', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    renderRecovery(ctx, tenant, { step: 'link', base: `/${tenant.id}/recovery` });
  });

  router.post('/:tenant/recovery/link', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const body = parseInput(linkBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    const cookie = randomId(32);
    const recovery = await counted('recovery_link', deps.recovery.redeemAdminLink(tenant, body.token, browserBinding(cookie), client(ctx, body.timeZone)));
    await deps.audit.record({ type: 'recovery.started', tenantId: tenant.id, userId: recovery.userId, detail: { method: recovery.method, recoveryId: recovery.id } });
    ctx.cookies.set(BROWSER_COOKIE, cookie, {
      httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: `/${tenant.id}/recovery`, maxAge: RECOVERY_TTL_MS, overwrite: true,
    });
    ctx.body = { redirectTo: `/${tenant.id}/recovery` };
  });

  router.get('/:tenant/recovery/done', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    renderRecovery(ctx, tenant, { step: 'done', base: `/${tenant.id}/recovery`, accountUrl: `/${tenant.id}/account` });
  });

  for (const [prefix, place] of [['/:tenant/interaction/:uid/recovery', inInteraction], ['/:tenant/recovery', inBrowser]] as const) {
    router.get(prefix, async (ctx) => {
      const where = await place(ctx);
      const recovery = await deps.recovery.findOpen(where.tenant.id, where.binding);
      if (!recovery) {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.set('Cache-Control', 'no-store');
        ctx.body = renderPage('error', {
          nonce: ctx.state.cspNonce,
          title: `Recovery · ${where.tenant.name}`,
          heading: 'This recovery has ended',
          message: 'It was finished, or it expired after 15 minutes. To get back into your account, start again from the sign-in page of your application.',
          code: 'recovery_expired',
          requestId: ctx.state.requestId,
          actions: ctx.params.uid ? [{ href: `/${where.tenant.id}/interaction/${ctx.params.uid}`, label: 'Back to the sign-in page', primary: true }] : [],
        });
        return;
      }
      const user = await deps.recovery.userOf(recovery);
      const old = recovery.credentialId ? await deps.recovery.oldPasskeys(recovery) : [];
      renderRecovery(ctx, where.tenant, {
        step: recovery.credentialId ? 'cleanup' : 'passkey',
        base: where.base,
        user: { displayName: user.displayName, email: user.email },
        method: recovery.method,
        oldPasskeys: old.map((p) => ({
          id: p.id,
          // The name the person gave it, or its model's as recorded at registration (passkey-names.ts).
          name: describePasskey(p).name,
          kind: p.deviceType === 'multiDevice' ? 'synced passkey' : 'device-bound passkey',
          createdAt: new Date(p.createdAt).toISOString().slice(0, 16).replace('T', ' '),
          lastUsedAt: p.lastUsedAt ? new Date(p.lastUsedAt).toISOString().slice(0, 16).replace('T', ' ') : 'never',
        })),
      });
    });

    router.post(`${prefix}/passkey/options`, requireJson, async (ctx) => {
      const where = await place(ctx);
      const recovery = await deps.recovery.open(where.tenant.id, where.binding);
      ctx.body = await deps.recovery.startPasskey(where.tenant, recovery);
    });

    router.post(`${prefix}/passkey/verify`, requireJson, async (ctx) => {
      const where = await place(ctx);
      const body = parseInput(passkeyVerifyBody, ctx.request.body);
      const recovery = await deps.recovery.open(where.tenant.id, where.binding);
      const added = await counted('recovery_passkey', deps.recovery.finishPasskey(where.tenant, recovery, body));
      await deps.audit.record({ type: 'passkey.added', tenantId: where.tenant.id, userId: recovery.userId, detail: { credentialId: added.id, via: 'recovery', recoveryId: recovery.id } });
      ctx.body = { redirectTo: where.base };
    });

    router.post(`${prefix}/finish`, requireJson, async (ctx) => {
      const where = await place(ctx);
      const body = parseInput(finishBody, ctx.request.body);
      const recovery: Recovery = await deps.recovery.open(where.tenant.id, where.binding);
      const signedIn = await deps.recovery.finish(recovery, body.remove);
      await deps.audit.record({ type: 'recovery.used', tenantId: where.tenant.id, userId: signedIn.user.id, email: signedIn.user.email,
        detail: { method: recovery.method, recoveryId: recovery.id, credentialId: signedIn.credentialId, removedPasskeys: body.remove } });
      ctx.body = { redirectTo: await where.finish(signedIn) };
    });
  }

  return router;
}

const browserBinding = (cookie: string) => `browser:${createHash('sha256').update(cookie).digest('base64url')}`;

function renderRecovery(ctx: Context, tenant: Tenant, data: Record<string, unknown> & { step: string; base: string }): void {
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderPage('recovery', {
    nonce: ctx.state.cspNonce,
    title: `Recover your account · ${tenant.name}`,
    tenantName: tenant.name,
    branding: brandingOf(tenant),
    ...data,
    configJson: jsonForScript({ base: data.base }),
  });
}
