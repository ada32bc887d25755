import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/**
 * One CSP nonce per response. It is keyed on the raw Node response because a tenant's
 * oidc-provider renders pages in its own Koa context, which shares only req/res with ours.
 */
const nonces = new WeakMap<ServerResponse, string>();

export function assignNonce(res: ServerResponse): string {
  const nonce = randomBytes(16).toString('base64');
  nonces.set(res, nonce);
  return nonce;
}

export function cspNonce(ctx: { res: ServerResponse }): string {
  return nonces.get(ctx.res) ?? assignNonce(ctx.res);
}

/**
 * Scripts run only with the nonce (oidc-provider appends the hash of its own form_post script).
 * `form-action` is left out on purpose: the form_post response must submit to the relying party.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "manifest-src 'self'",
    // Passport's service worker (a worker cannot carry a nonce).
    "worker-src 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
