import type { Context } from 'koa';
import type { TenantOidc } from '../../oidc/provider-registry.js';
import type { Interaction } from './interaction-context.js';
import { SesameError } from '../../errors.js';

/**
 * Ways out of a sign-in page that can no longer sign anyone in (expired, finished, Back after
 * signing in): the person is sent back to the application, never left on a dead end.
 */
const APP_COOKIE = 'sesame_app';

export interface AppExit { clientName: string; href: string }

/**
 * The authorization request again, with the application's own parameters (its state and nonce
 * included, so the application accepts the answer): "Start again" on a page that expired while open.
 */
export function restartUrl(oidc: TenantOidc, interaction: Interaction): string {
  const url = new URL(`${oidc.provider.issuer}/auth`);
  for (const [name, value] of Object.entries(interaction.params)) {
    if (typeof value === 'string') url.searchParams.set(name, value);
  }
  return url.toString();
}

/**
 * Notes which application this sign-in page serves, in a cookie scoped to the page's path: once
 * the interaction is gone (finished, or expired), that page can still offer the way back.
 */
export function rememberApp(ctx: Context, interaction: Interaction): void {
  const clientId = interaction.params.client_id;
  const redirectUri = interaction.params.redirect_uri;
  if (typeof clientId !== 'string' || typeof redirectUri !== 'string') return;
  ctx.cookies.set(APP_COOKIE, Buffer.from(JSON.stringify([clientId, redirectUri])).toString('base64url'), {
    httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: ctx.path, overwrite: true, maxAge: 24 * 3600 * 1000,
  });
}

/**
 * The application a dead sign-in page belonged to, and its address (the origin of a redirect URI
 * the client registered: the cookie only chooses among the client's own addresses).
 */
export async function rememberedApp(ctx: Context, oidc: TenantOidc): Promise<AppExit | undefined> {
  const raw = ctx.cookies.get(APP_COOKIE);
  if (!raw) return undefined;
  try {
    const [clientId, redirectUri] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof clientId !== 'string' || typeof redirectUri !== 'string') return undefined;
    const client = await oidc.provider.Client.find(clientId);
    if (!client || !client.redirectUris?.includes(redirectUri)) return undefined;
    return { clientName: client.clientName ?? 'the application', href: `${new URL(redirectUri).origin}/` };
  } catch {
    return undefined;
  }
}

/**
 * Sesame signs people in with OpenID Connect only: a request without the `openid` scope is refused
 * before any passkey is asked for, with a message that says whose setting it is.
 */
export function requireOpenIdScope(interaction: Interaction, clientName: string): void {
  const scopes = String(interaction.params.scope ?? '').split(' ');
  if (!scopes.includes('openid')) {
    throw new SesameError('openid_scope_missing', 400,
      `${clientName} asked to sign you in without the "openid" scope, so Sesame cannot sign you in to it. This is a setting of ${clientName}: please tell its administrators.`);
  }
}
