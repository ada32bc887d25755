import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { ProviderRegistry } from '../../oidc/provider-registry.js';
import type { TenantService } from '../../tenants/tenant-service.js';
import { requireEnabled, type PasskeyService } from '../../accounts/passkey-service.js';
import { networkOf, type CeremonyRateLimits } from '../middleware/rate-limit.js';
import type { EventStreamRegistry } from '../../crossdevice/event-streams.js';
import { statusMessage, TERMINAL, type CrossDeviceService } from '../../crossdevice/crossdevice-service.js';
import type { CrossDeviceRequest } from '../../storage/repositories/crossdevice.js';
import { qrSvg } from '../../crossdevice/qr.js';
import { parseInput } from '../validate.js';
import { tooManyRequests } from '../../errors.js';
import { optionalEmail } from '../schemas.js';
import { requireJson } from './require-json.js';
import type { Draining } from '../../draining.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { finishLogin, loadInteraction } from './interaction-context.js';
import { unknownAddressMessage } from '../../accounts/invitations.js';

const BINDING_COOKIE = 'sesame_xd';
/** SSE: a comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/**
 * Every change wakes the stream through the notify channel (and every stream is woken when that
 * channel comes back after an outage), so the periodic re-read is only a safety net.
 */
const REREAD_MS = 30_000;

const startBody = z.object({ email: optionalEmail, push: z.boolean().default(false) });

export interface CrossDeviceDesktopDeps {
  registry: ProviderRegistry;
  tenants: TenantService;
  passkeys: PasskeyService;
  crossDevice: CrossDeviceService;
  rateLimits: CeremonyRateLimits;
  eventStreams: EventStreamRegistry;
  publicUrl: string;
  draining: Draining;
  audit: AuditLog;
}

/**
 * The desktop half of cross-device sign-in, inside the OIDC interaction: start a QR or push request,
 * follow it live (SSE, or polling), cancel it, and complete the sign-in once the phone approved.
 * The browser that starts a request gets a secret cookie; status and completion require it.
 */
export function crossDeviceDesktopRoutes(deps: CrossDeviceDesktopDeps): Router {
  const router = new Router({ prefix: '/:tenant/interaction/:uid/crossdevice' });
  const bindingCookie = (ctx: Context) => ({
    httpOnly: true, sameSite: 'strict' as const, secure: ctx.secure, path: `/${ctx.params.tenant}/interaction/${ctx.params.uid}`, overwrite: true,
  });

  router.post('/', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(startBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, body.email && `${tenant.id}:${body.email}`);
    const user = body.email ? await deps.passkeys.findUserByEmail(tenant.id, body.email) : undefined;
    if (body.email && !user) {
      ctx.status = 404;
      ctx.body = { error: 'unknown_account', message: unknownAddressMessage(tenant) };
      return;
    }
    if (user) requireEnabled(user);
    const client = interaction.params.client_id ? await oidc.provider.Client.find(String(interaction.params.client_id)) : undefined;
    const { request, bindingSecret, delivered, inPassport } = await deps.crossDevice.start({
      tenant,
      interactionUid: interaction.uid,
      clientName: client?.clientName ?? tenant.name,
      userAgent: ctx.get('user-agent'),
      ip: ctx.ip,
      kind: body.push ? 'push' : 'qr',
      userId: user?.id,
    });
    ctx.cookies.set(BINDING_COOKIE, bindingSecret, bindingCookie(ctx));
    const link = `${deps.publicUrl}/${tenant.id}/x/${request.id}`;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      id: request.id,
      kind: request.kind,
      // A push that no channel accepted still works as a QR code: the page then shows the code.
      delivered,
      // The phone's Passport lists the request while it is open, notified or not.
      inPassport,
      link,
      qrSvg: await qrSvg(link),
      number: request.number,
      expiresAt: new Date(request.expiresAt).toISOString(),
      // The page counts down from this (its own clock may differ from the server's).
      expiresInMs: Math.max(0, request.expiresAt - Date.now()),
    };
  });

  router.get('/:id', async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const request = await deps.crossDevice.statusForDesktop(tenant.id, ctx.params.id, interaction.uid, ctx.cookies.get(BINDING_COOKIE));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = statusView(request);
  });

  router.get('/:id/events', async (ctx) => {
    const network = networkOf(ctx.ip);
    if (deps.eventStreams.full(network)) throw tooManyStreams();
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const binding = ctx.cookies.get(BINDING_COOKIE);
    const first = await deps.crossDevice.statusForDesktop(tenant.id, ctx.params.id, interaction.uid, binding);
    // Registered only now that the stream is known to be this browser's: nobody else can replace it.
    let replaced = false;
    const release = deps.eventStreams.open(first.id, network, () => {
      replaced = true;
      close();
    });
    if (!release) throw tooManyStreams();

    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    ctx.status = 200;
    ctx.body = stream;

    let last = '';
    let closed = false;
    let stopDraining: () => void = () => undefined;
    const send = (request: CrossDeviceRequest) => {
      if (closed) return;
      const view = JSON.stringify(statusView(request));
      if (view !== last) {
        last = view;
        stream.write(`event: status\ndata: ${view}\n\n`);
      }
      if (TERMINAL.includes(request.status)) close();
    };
    const refresh = () => {
      if (closed) return;
      deps.crossDevice.statusForDesktop(tenant.id, first.id, interaction.uid, binding).then(send, () => close());
    };
    const stopWaiting = deps.crossDevice.waitForChange(first.id, refresh);
    const heartbeat = setInterval(() => stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const reread = setInterval(refresh, REREAD_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(reread);
      stopWaiting();
      stopDraining();
      release();
      // A newer stream of this request took over (another tab, or a reconnect): the page polls instead of reconnecting.
      if (replaced) stream.write('event: replaced\ndata: {}\n\n');
      stream.end();
    };
    // On shutdown the page is told to open the stream again, which the load balancer sends to another node.
    stopDraining = deps.draining.onStart(() => {
      if (!closed) stream.write('event: reconnect\ndata: {}\n\n');
      close();
    });
    ctx.req.on('close', close);
    stream.write('retry: 2000\n\n');
    send(first);
    // The request may expire while nobody writes to it: look again just after its deadline.
    const untilExpiry = first.expiresAt - Date.now() + 250;
    if (untilExpiry > 0 && !closed) setTimeout(refresh, untilExpiry).unref();
  });

  router.post('/:id/cancel', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    await deps.crossDevice.cancel(tenant.id, ctx.params.id, interaction.uid, ctx.cookies.get(BINDING_COOKIE));
    ctx.body = { status: 'cancelled' };
  });

  router.post('/:id/complete', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    const approved = await deps.crossDevice.complete(tenant.id, ctx.params.id, interaction.uid, ctx.cookies.get(BINDING_COOKIE));
    ctx.cookies.set(BINDING_COOKIE, null, bindingCookie(ctx));
    await deps.audit.record({ type: 'signin.succeeded', tenantId: tenant.id, userId: approved.userId, detail: { via: 'crossdevice', requestId: ctx.params.id, credentialId: approved.credentialId ?? null, amr: approved.amr } });
    // No acr: a relayed QR code can be approved by a phished user, so this is not phishing-resistant.
    ctx.body = { redirectTo: await finishLogin(ctx, oidc, interaction, { accountId: approved.userId, amr: approved.amr, credentialId: approved.credentialId }) };
  });

  return router;
}

function tooManyStreams() {
  return tooManyRequests('Too many sign-in pages on your network are waiting for a phone at the same time. This page checks for the answer every few seconds instead.');
}

function statusView(request: CrossDeviceRequest) {
  return {
    id: request.id,
    status: request.status,
    ...(request.status === 'failed' && request.failureReason ? { reason: request.failureReason } : {}),
    message: statusMessage(request.status, request.failureReason),
    expiresAt: new Date(request.expiresAt).toISOString(),
  };
}
