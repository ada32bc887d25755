import Router from '@koa/router';
import { z } from 'zod';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { randomId } from '../ids.js';
import { badRequest } from '../errors.js';
import { parseInput } from '../http/validate.js';
import { renderPage } from '../views/render.js';
import { issuerFor } from '../oidc/issuer.js';
import type { ClientRepository } from '../storage/repositories/clients.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { DEMO_CLIENT_NAME, DEMO_TENANT, demoClientSecret } from './seed.js';

export interface DemoRpDeps {
  clients: ClientRepository;
  /** The demo client's secret is derived from the server's key (seed.ts), as only its hash is stored. */
  secrets: SecretBox;
  publicUrl: string;
  /** Where this process reaches its own OIDC endpoints (loopback), for the back-channel token call. */
  internalUrl: () => string;
}

const COOKIE = 'demo_rp_txn';
const callbackBody = z.union([
  z.object({ code: z.string().min(1).max(2048), state: z.string().max(4096) }),
  z.object({ error: z.string().max(200), error_description: z.string().max(2000).optional(), state: z.string().max(4096).optional() }),
]);

/**
 * A relying party inside Sesame, doing what Azure AD B2C does with an OpenID Connect provider
 * (authorization code, response_mode=form_post, client_secret_post, no PKCE) and then showing the
 * verified ID token's claims, as jwt.ms does for B2C developers.
 */
export function demoRpRoutes(deps: DemoRpDeps): Router {
  const router = new Router({ prefix: '/demo-rp' });
  const redirectUri = `${deps.publicUrl}/demo-rp/callback`;
  const issuer = issuerFor(deps.publicUrl, DEMO_TENANT);

  const demoClient = async () => {
    const clients = await deps.clients.listByTenant(DEMO_TENANT);
    const client = clients.find((c) => c.name === DEMO_CLIENT_NAME && c.redirectUris.includes(redirectUri));
    if (!client) throw badRequest('The demo client is missing. Restart Sesame with SESAME_DEMO=true to create it.', 'demo_not_configured');
    return client;
  };

  router.get('/', async (ctx) => {
    const client = await demoClient();
    ctx.type = 'html';
    ctx.body = renderPage('demo-rp-home', {
      nonce: ctx.state.cspNonce,
      title: 'Demo relying party',
      issuer,
      metadataUrl: `${issuer}/.well-known/openid-configuration`,
      clientId: client.clientId,
      redirectUri,
    });
  });

  router.get('/login', async (ctx) => {
    const client = await demoClient();
    const state = `StateProperties=${randomId(24)}`;
    const nonce = randomId(16);
    ctx.cookies.set(COOKIE, JSON.stringify({ state, nonce }), { httpOnly: true, sameSite: 'lax', maxAge: 10 * 60 * 1000, path: '/demo-rp', secure: ctx.secure });
    const url = new URL(`${issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      response_mode: 'form_post',
      scope: 'openid profile email',
      state,
      nonce,
      ...(ctx.query.prompt === 'login' ? { prompt: 'login' } : {}),
    }).toString();
    ctx.redirect(url.href);
  });

  router.post('/callback', async (ctx) => {
    const body = parseInput(callbackBody, ctx.request.body);
    const txn = readTransaction(ctx.cookies.get(COOKIE));
    ctx.cookies.set(COOKIE, null, { path: '/demo-rp' });
    if ('error' in body) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = renderPage('demo-rp-result', { nonce: ctx.state.cspNonce, title: 'Sign-in failed', error: `${body.error}: ${body.error_description ?? ''}` });
      return;
    }
    if (!txn || txn.state !== body.state) throw badRequest('The state does not match the sign-in this browser started. Start again from /demo-rp/.', 'state_mismatch');
    const client = await demoClient();
    const internal = `${deps.internalUrl()}/${DEMO_TENANT}/oidc`;
    const tokenResponse = await fetch(`${internal}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: body.code, redirect_uri: redirectUri, client_id: client.clientId, client_secret: demoClientSecret(deps.secrets, client.clientId) }),
    });
    const tokens = await tokenResponse.json() as { id_token?: string; error?: string; error_description?: string };
    if (!tokenResponse.ok || !tokens.id_token) throw badRequest(`The token endpoint refused the code: ${tokens.error ?? tokenResponse.status} ${tokens.error_description ?? ''}`.trim(), 'token_exchange_failed');
    const jwks = await (await fetch(`${internal}/jwks`)).json() as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), { issuer, audience: client.clientId, algorithms: ['RS256'] });
    if (payload.nonce !== txn.nonce) throw badRequest('The ID token nonce does not match the one this browser sent.', 'nonce_mismatch');
    ctx.type = 'html';
    ctx.body = renderPage('demo-rp-result', {
      nonce: ctx.state.cspNonce,
      title: 'Signed in — decoded ID token',
      header: JSON.stringify(protectedHeader ?? decodeProtectedHeader(tokens.id_token), null, 2),
      claims: payload,
      claimsJson: JSON.stringify(payload, null, 2),
      logoutUrl: `${issuer}/session/end?${new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: `${deps.publicUrl}/demo-rp/` })}`,
    });
  });

  return router;
}

function readTransaction(raw: string | undefined): { state: string; nonce: string } | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw);
    return typeof value?.state === 'string' && typeof value?.nonce === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
