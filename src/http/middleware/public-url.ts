import type { Middleware } from 'koa';
import type { ClientIpResolver } from '../client-ip.js';

/**
 * Pins what the request says about where it was sent to PUBLIC_URL before anything reads it. Koa
 * and each tenant's oidc-provider build absolute URLs (discovery, form_post actions, redirects)
 * from Host / X-Forwarded-Host / X-Forwarded-Proto; a client writes those, so they are overwritten
 * here for both, on the shared Node request. X-Forwarded-For is replaced by the one client address
 * we believe, so oidc-provider sees the same address as our own code.
 */
export function pinToPublicUrl(publicUrl: string, clientIp: ClientIpResolver): Middleware {
  const { host, protocol } = new URL(publicUrl);
  const proto = protocol.slice(0, -1);
  return async (ctx, next) => {
    const headers = ctx.req.headers;
    const ip = clientIp(ctx.req.socket.remoteAddress, headers['x-forwarded-for'] as string | undefined);
    headers.host = host;
    headers['x-forwarded-host'] = host;
    headers['x-forwarded-proto'] = proto;
    headers['x-forwarded-for'] = ip;
    ctx.request.ip = ip;
    await next();
  };
}
