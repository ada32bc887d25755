import type { Middleware } from 'koa';
import type { ProviderRegistry } from '../../oidc/provider-registry.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import { notFound } from '../../errors.js';

const OIDC_PATH = /^\/([^/]+)\/oidc(\/.*)?$/;
/** oidc-provider's authorization endpoint (its default route), where each request stores an interaction. */
const AUTHORIZATION_PATH = '/auth';

/**
 * Hands /<tenant>/oidc/* to that tenant's oidc-provider as a raw Node request. (koa-mount would
 * run the provider on our Koa context and sign its cookies with the wrong keys: research/stack.md §1.)
 * Authorization requests are counted per network first; beyond the limit the browser gets our
 * error page (429) and oidc-provider never sees the request.
 */
export function oidcDispatch(registry: ProviderRegistry, rateLimits: CeremonyRateLimits): Middleware {
  return async (ctx, next) => {
    const match = OIDC_PATH.exec(ctx.path);
    if (!match) return next();
    const tenantId = decodeURIComponent(match[1]);
    const oidc = await registry.get(tenantId);
    if (!oidc) throw notFound(`There is no tenant called "${tenantId}" on this Sesame server. Check the metadata URL.`, 'unknown_tenant');
    if (match[2] === AUTHORIZATION_PATH) await rateLimits.consumeAuthorization(ctx.ip);
    ctx.respond = false;
    const prefix = `/${match[1]}/oidc`;
    ctx.req.url = ctx.req.url!.slice(ctx.req.url!.indexOf(prefix) + prefix.length) || '/';
    (ctx.req as { originalUrl?: string }).originalUrl = ctx.originalUrl;
    await oidc.handle(ctx.req, ctx.res);
  };
}
