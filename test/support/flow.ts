import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { SoftwareAuthenticator } from '../../sdk/software-authenticator.js';
import type { Client } from '../../src/storage/repositories/clients.js';
import type { TestServer } from './server.js';
import { parseFormPost, UserAgent, type UaResponse } from './user-agent.js';
import { verificationMail } from './mailbox.js';

export const RP_REDIRECT = 'https://rp.example.com/callback';

export async function createClient(server: TestServer, extra: { requirePkce?: boolean; tenantId?: string; postLogoutRedirectUris?: string[] } = {}): Promise<Client> {
  return server.services.tenants.createClient({
    tenantId: extra.tenantId ?? 'demo',
    name: 'Test RP',
    redirectUris: [RP_REDIRECT],
    postLogoutRedirectUris: extra.postLogoutRedirectUris ?? ['https://rp.example.com/signed-out'],
    requirePkce: extra.requirePkce,
  });
}

export const issuer = (server: TestServer, tenant = 'demo') => `${server.origin}/${tenant}/oidc`;

export function authorizeUrl(server: TestServer, client: Client, params: Record<string, string> = {}, tenant = 'demo'): string {
  const url = new URL(`${issuer(server, tenant)}/auth`);
  url.search = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: RP_REDIRECT,
    response_type: 'code',
    response_mode: 'form_post',
    scope: 'openid profile email',
    state: 'state-1',
    nonce: 'nonce-1',
    ...params,
  }).toString();
  return url.href;
}

/** Starts an authorization request and lands on Sesame's sign-in page. */
export async function openSignInPage(ua: UserAgent, url: string): Promise<{ base: string; page: UaResponse }> {
  const page = await ua.follow(url);
  assert.equal(page.status, 200, `expected the sign-in page, got ${page.status} ${page.text.slice(0, 300)}`);
  const match = /\/([^/]+)\/interaction\/([^/?#]+)/.exec(page.url);
  assert.ok(match, `not an interaction page: ${page.url}`);
  return { base: new URL(`/${match[1]}/interaction/${match[2]}`, page.url).href, page };
}

/**
 * Proves the address for this sign-up page with the code from the mail (read from the server's
 * outbox, as the person would from their inbox); returns the verification id.
 */
export async function proveEmail(ua: UserAgent, base: string, email: string, displayName: string): Promise<string> {
  const since = Date.now() - 1;
  const sent = await ua.postJson(`${base}/signup/email`, { email, displayName });
  assert.equal(sent.status, 200, sent.text);
  const { verificationId } = sent.json();
  const { code } = await verificationMail(base, email.trim().toLowerCase(), since);
  const proved = await ua.postJson(`${base}/signup/code`, { verificationId, code });
  assert.equal(proved.status, 200, proved.text);
  return verificationId;
}

/** Sign-up as the page does it: with the tenant's e-mail verification on (the default), the code first. */
export async function signUp(ua: UserAgent, authenticator: SoftwareAuthenticator, base: string, email: string, displayName: string, how: { verify?: boolean; verificationId?: string } = {}): Promise<string> {
  const verificationId = how.verificationId ?? (how.verify === false ? undefined : await proveEmail(ua, base, email, displayName));
  const start = await ua.postJson(`${base}/signup/options`, { email, displayName, verificationId });
  assert.equal(start.status, 200, start.text);
  const { challengeId, options } = start.json();
  const response = authenticator.createCredential(options, ua.origin);
  const done = await ua.postJson(`${base}/signup/verify`, { challengeId, response });
  assert.equal(done.status, 200, done.text);
  return done.json().redirectTo;
}

export async function signIn(ua: UserAgent, authenticator: SoftwareAuthenticator, base: string, email?: string): Promise<string> {
  const start = await ua.postJson(`${base}/signin/options`, email ? { email } : {});
  assert.equal(start.status, 200, start.text);
  return verifySignIn(ua, authenticator, base, start.json());
}

/** The JSON config a Sesame page gives its script (`<script id="sesame-config" type="application/json">`). */
export function pageConfig(html: string): Record<string, any> {
  const json = /<script[^>]*id="sesame-config"[^>]*>([^<]*)<\/script>/.exec(html)?.[1];
  assert.ok(json !== undefined, `no sesame-config in the page: ${html.slice(0, 300)}`);
  return JSON.parse(json);
}

/**
 * Sign-in with a discoverable passkey as the sign-in page's autofill does it: with the options the
 * page came with, or (a page without them: an older server, or beyond the rate limit) by asking
 * for options without an address.
 */
export async function signInWithAutofill(ua: UserAgent, authenticator: SoftwareAuthenticator, base: string, pageHtml: string): Promise<string> {
  const ceremony = pageConfig(pageHtml).autofill as { challengeId: string; options: any } | undefined;
  return ceremony ? verifySignIn(ua, authenticator, base, ceremony) : signIn(ua, authenticator, base);
}

/** The passkey's assertion for `ceremony`, verified: the redirect the server answers with. */
async function verifySignIn(ua: UserAgent, authenticator: SoftwareAuthenticator, base: string, ceremony: { challengeId: string; options: any }): Promise<string> {
  const response = authenticator.getAssertion(ceremony.options, ua.origin);
  const done = await ua.postJson(`${base}/signin/verify`, { challengeId: ceremony.challengeId, response });
  assert.equal(done.status, 200, done.text);
  return done.json().redirectTo;
}

export interface AuthorizationResponse {
  params: Record<string, string>;
  mode: 'form_post' | 'query';
}

/** Follows the provider's redirects after sign-in until the response to the RP. */
export async function finishAtRp(ua: UserAgent, url: string, redirectUri = RP_REDIRECT): Promise<AuthorizationResponse> {
  const response = await ua.follow(url);
  if (response.status >= 300 && response.status < 400) {
    const location = new URL(response.headers.get('location')!, response.url);
    assert.ok(location.href.startsWith(redirectUri), `redirected to ${location.href}`);
    return { params: Object.fromEntries(location.searchParams), mode: 'query' };
  }
  // oidc-provider answers errors with the same form_post page and a 4xx status.
  assert.ok(response.status === 200 || response.status === 400, `${response.status} ${response.text.slice(0, 500)}`);
  const form = parseFormPost(response.text);
  assert.equal(form.action, redirectUri, `form_post page expected, got ${response.text.slice(0, 300)}`);
  return { params: form.fields, mode: 'form_post' };
}

export async function exchangeCode(server: TestServer, client: Client, code: string, options: { auth?: 'post' | 'basic'; extra?: Record<string, string>; tenant?: string } = {}) {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP_REDIRECT, ...options.extra });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.auth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  }
  const response = await fetch(`${issuer(server, options.tenant)}/token`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.json() as Record<string, any> };
}

export async function verifyIdToken(server: TestServer, client: Client, idToken: string, tenant = 'demo'): Promise<JWTPayload & Record<string, any>> {
  const jwks = createRemoteJWKSet(new URL(`${issuer(server, tenant)}/jwks`));
  const { payload, protectedHeader } = await jwtVerify(idToken, jwks, { issuer: issuer(server, tenant), audience: client.clientId, algorithms: ['RS256'] });
  assert.equal(protectedHeader.alg, 'RS256');
  return payload as JWTPayload & Record<string, any>;
}

/** A whole sign-up through to verified ID token claims. */
export async function signUpThroughRp(server: TestServer, client: Client, email: string, name: string, authenticator = new SoftwareAuthenticator(), params: Record<string, string> = {}) {
  const ua = new UserAgent(server.origin);
  const { base } = await openSignInPage(ua, authorizeUrl(server, client, params));
  const result = await finishAtRp(ua, await signUp(ua, authenticator, base, email, name));
  const tokens = await exchangeCode(server, client, result.params.code);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  const claims = await verifyIdToken(server, client, tokens.body.id_token);
  return { ua, authenticator, result, tokens: tokens.body, claims };
}
