import Router from '@koa/router';
import { z } from 'zod';
import type { Context } from 'koa';
import type { Services } from '../../services.js';
import { parseInput } from '../validate.js';
import { requireJson } from './require-json.js';
import { SesameError } from '../../errors.js';

const enrolmentToken = z.string().regex(/^[A-Za-z0-9_-]{20,64}$/, 'must be a set-up token');
const getBody = z.object({
  op: z.enum(['Reg', 'Auth', 'Dereg']),
  context: z.string().max(2048).default('{}'),
});
const regContext = z.object({ enrolmentToken, name: z.string().trim().min(1).max(60).default('UAF authenticator') });
/** An Auth for a cross-device sign-in names the request and the number the person picked (from the QR link or the push). */
const authContext = z.object({
  request: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be a sign-in request id').optional(),
  number: z.number().int().min(0).max(99).optional(),
}).refine((c) => (c.request === undefined) === (c.number === undefined), 'give both the request and the number shown on the computer');
const deregContext = z.object({ aaid: z.string().max(9).optional(), keyID: z.string().max(1024).optional() });
const respondBody = z.object({ uafResponse: z.string().max(64 * 1024), context: z.string().max(2048).default('{}') });

/** UAF status codes (Client API and Transport v1.1 §3.3.2) for the errors a response can meet. */
const STATUS: Record<string, number> = {
  uaf_challenge: 1491, uaf_malformed: 1498, uaf_version: 1498, uaf_unknown_key: 1481, uaf_unacceptable_authenticator: 1492,
  uaf_unacceptable_algorithm: 1495, uaf_attestation: 1496, uaf_transaction: 1400, uaf_untrusted_facet: 1490, enrolment_token_invalid: 1401, device_unknown: 1401,
};

/**
 * The FIDO UAF client/server exchange (GetUAFRequest / SendUAFResponse of UAF Client API and
 * Transport v1.1 §3.3, JSON): `POST get {op, context}` → `{statusCode, uafRequest}` and
 * `POST respond {uafResponse, context}` → `{statusCode, ...}`. Errors are the usual 4xx JSON with
 * the UAF statusCode added. A Reg is bound to an account by the Passport set-up token in its context;
 * an Auth whose context names a cross-device request `{request, number}` approves it (docs/device-api.md).
 */
export function uafRoutes(services: Services): Router {
  const { uaf, uafApproval } = services;
  const router = new Router({ prefix: '/:tenant/uaf' });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof SesameError && error.status < 500) {
        ctx.status = error.status;
        ctx.body = { error: error.code, message: error.message, statusCode: STATUS[error.code] ?? (error.status === 401 ? 1401 : 1400) };
        return;
      }
      throw error;
    }
  });

  router.get('/trusted-facets', async (ctx) => {
    const tenant = await services.tenants.requireTenant(ctx.params.tenant);
    ctx.type = 'application/fido.trusted-apps+json';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = JSON.stringify(await uaf.trustedFacets(tenant.id));
  });

  router.post('/get', requireJson, async (ctx) => {
    const tenant = await services.tenants.requireTenant(ctx.params.tenant);
    const { op, context } = parseInput(getBody, ctx.request.body);
    await services.rateLimits.consume(ctx.ip);
    if (op === 'Reg') {
      const { enrolmentToken: token } = parseInput(regContext, json(context));
      ctx.body = { statusCode: 1200, uafRequest: JSON.stringify(await uaf.startRegistration(tenant, token)) };
    } else if (op === 'Auth') {
      const device = await deviceOf(ctx);
      const { request, number } = parseInput(authContext, json(context));
      const uafRequest = request === undefined || number === undefined
        ? await uaf.startAuthentication(tenant, { userId: device.userId })
        : await uafApproval.start(tenant, device, request, number);
      ctx.body = { statusCode: 1200, uafRequest: JSON.stringify(uafRequest) };
    } else {
      const device = await deviceOf(ctx);
      const match = parseInput(deregContext, json(context));
      const { removed, request } = await uaf.deregister(tenant, device.userId, { aaid: match.aaid || undefined, keyId: match.keyID || undefined });
      ctx.body = { statusCode: 1200, uafRequest: JSON.stringify(request), removed };
    }
  });

  router.post('/respond', requireJson, async (ctx) => {
    const tenant = await services.tenants.requireTenant(ctx.params.tenant);
    const { uafResponse, context } = parseInput(respondBody, ctx.request.body);
    await services.rateLimits.consume(ctx.ip);
    const op = (json(uafResponse) as Array<{ header?: { op?: unknown } }>)?.[0]?.header?.op;
    if (op === 'Reg') {
      const { name } = parseInput(regContext.partial({ enrolmentToken: true }), json(context));
      ctx.body = { statusCode: 1200, ...(await uaf.finishRegistration(tenant, uafResponse, name)) };
    } else if (op === 'Auth') {
      const result = await uafApproval.finish(tenant, uafResponse);
      ctx.body = {
        statusCode: 1200, userId: result.userId, aaid: result.aaid, keyId: result.keyId, transactionConfirmed: result.transactionConfirmed,
        ...(result.approvedRequest ? { approved: result.approvedRequest } : {}),
      };
    } else {
      throw new SesameError('uaf_malformed', 400, 'The UAF response is neither a Reg nor an Auth response.');
    }
  });

  const deviceOf = async (ctx: Context) => {
    const tenant = await services.tenants.requireTenant(ctx.params.tenant);
    return services.passport.authenticate(tenant, ctx.get('authorization'));
  };

  return router;
}

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SesameError('uaf_malformed', 400, 'The UAF message or context is not JSON.');
  }
}
