import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent, type UaResponse } from './support/user-agent.js';
import { authorizeUrl, createClient, issuer, openSignInPage, signUp, proveEmail } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** Negative tests: each point of the security floor, from the outside. */

function assertCleanError(response: UaResponse, status: number, code?: string) {
  assert.equal(response.status, status, response.text.slice(0, 400));
  assert.doesNotMatch(response.text, /at [\w.<>]+ \(|\.ts:\d+|node_modules/, 'no stack trace');
  if (code) assert.equal(response.json().error, code);
}

async function startCeremony(ua: UserAgent, base: string, email?: string) {
  const start = await ua.postJson(`${base}/signin/options`, email ? { email } : {});
  assert.equal(start.status, 200, start.text);
  return start.json() as { challengeId: string; options: any };
}

for (const db of await databases()) {
  describe(`security floor (${db})`, () => {
    let server: TestServer;
    let client: Client;
    const authenticator = new SoftwareAuthenticator();
    const email = 'sec@example.com';

    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await signUp(ua, authenticator, base, email, 'Sec');
    });
    after(() => server.close());

    const page = async () => {
      const ua = new UserAgent(server.origin);
      const { base, page: html } = await openSignInPage(ua, authorizeUrl(server, client));
      return { ua, base, html };
    };
    const userCount = async () => (await server.services.users.listByTenant('demo')).length;

    test('challenges are random, at least 16 bytes, and single-use', async () => {
      const { ua, base } = await page();
      const a = await startCeremony(ua, base, email);
      const b = await startCeremony(ua, base, email);
      assert.ok(Buffer.from(a.options.challenge, 'base64url').length >= 16);
      assert.notEqual(a.options.challenge, b.options.challenge);
      const response = authenticator.getAssertion(a.options, server.origin);
      assert.equal((await ua.postJson(`${base}/signin/verify`, { challengeId: a.challengeId, response })).status, 200);
      const replay = await ua.postJson(`${base}/signin/verify`, { challengeId: a.challengeId, response });
      assertCleanError(replay, 400);
    });

    test('a replayed assertion is rejected even with a fresh challenge id', async () => {
      const { ua, base } = await page();
      const a = await startCeremony(ua, base, email);
      const response = authenticator.getAssertion(a.options, server.origin);
      const b = await startCeremony(ua, base, email);
      // The signed clientData carries challenge a, so it cannot answer challenge b.
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: b.challengeId, response }), 400, 'assertion_invalid');
    });

    test('an expired challenge is refused', async () => {
      const { ua, base } = await page();
      const a = await startCeremony(ua, base, email);
      await server.services.database.db.updateTable('webauthn_challenges').set({ expires_at: Date.now() - 1 }).where('id', '=', a.challengeId).execute();
      const response = authenticator.getAssertion(a.options, server.origin);
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: a.challengeId, response }), 400, 'challenge_invalid');
    });

    test('challenges expire within 5 minutes', async () => {
      const { ua, base } = await page();
      const a = await startCeremony(ua, base, email);
      const row = await server.services.database.db.selectFrom('webauthn_challenges').selectAll().where('id', '=', a.challengeId).executeTakeFirstOrThrow();
      assert.ok(Number(row.expires_at) - Date.now() <= 5 * 60 * 1000);
    });

    test('a challenge is bound to the interaction (and browser) that asked for it', async () => {
      const first = await page();
      const second = await page();
      const a = await startCeremony(first.ua, first.base, email);
      const response = authenticator.getAssertion(a.options, server.origin);
      assertCleanError(await second.ua.postJson(`${second.base}/signin/verify`, { challengeId: a.challengeId, response }), 400, 'challenge_invalid');
      // Another browser without the interaction cookie cannot use the first browser's page at all.
      const stranger = new UserAgent(server.origin);
      assertCleanError(await stranger.postJson(`${first.base}/signin/verify`, { challengeId: a.challengeId, response }), 400, 'interaction_expired');
    });

    test('wrong origin, wrong RP ID, missing user verification and a rolled-back counter are rejected', async () => {
      const { ua, base } = await page();
      const wrongOrigin = await startCeremony(ua, base, email);
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: wrongOrigin.challengeId, response: authenticator.getAssertion(wrongOrigin.options, 'https://evil.example.com') }), 400, 'assertion_invalid');

      const [credential] = authenticator.credentials.values();
      const wrongRp = await startCeremony(ua, base, email);
      credential.rpId = 'evil.example.com';
      const forged = authenticator.getAssertion({ ...wrongRp.options, rpId: 'evil.example.com' }, server.origin);
      credential.rpId = 'localhost';
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: wrongRp.challengeId, response: forged }), 400, 'assertion_invalid');

      const noUv = new SoftwareAuthenticator({ userVerification: false });
      noUv.credentials.set(credential.id, { ...credential });
      const uv = await startCeremony(ua, base, email);
      const uvError = await ua.postJson(`${base}/signin/verify`, { challengeId: uv.challengeId, response: noUv.getAssertion(uv.options, server.origin) });
      assertCleanError(uvError, 403, 'user_verification_required');
      assert.match(uvError.json().message, /PIN, fingerprint or face/);

      const clone = new SoftwareAuthenticator();
      clone.credentials.set(credential.id, { ...credential, signCount: 0 });
      const counter = await startCeremony(ua, base, email);
      const cloned = await ua.postJson(`${base}/signin/verify`, { challengeId: counter.challengeId, response: clone.getAssertion(counter.options, server.origin) });
      assertCleanError(cloned, 403, 'passkey_possibly_cloned');
      assert.match(cloned.json().message, /counter/i);
    });

    test('registration with a wrong origin is refused and creates no account', async () => {
      const before = await userCount();
      const { ua, base } = await page();
      const start = (await ua.postJson(`${base}/signup/options`, { email: 'mallory@example.com', displayName: 'M', verificationId: await proveEmail(ua, base, 'mallory@example.com', 'M') })).json();
      const response = new SoftwareAuthenticator().createCredential(start.options, 'https://evil.example.com');
      assertCleanError(await ua.postJson(`${base}/signup/verify`, { challengeId: start.challengeId, response }), 400, 'registration_invalid');
      assert.equal(await userCount(), before);
    });

    test('an e-mail address has one account per tenant', async () => {
      const { ua, base } = await page();
      // With e-mail verification the address is checked before any code is sent.
      assertCleanError(await ua.postJson(`${base}/signup/email`, { email: 'SEC@example.com', displayName: 'Again' }), 409, 'account_exists');
    });

    test('state-changing POSTs need our Origin (or Sec-Fetch-Site: same-origin)', async () => {
      const { ua, base } = await page();
      assertCleanError(await ua.postJson(`${base}/signin/options`, {}, { origin: 'https://evil.example.com' }), 403, 'cross_origin_request');
      assertCleanError(await ua.postJson(`${base}/signin/options`, {}, { origin: null }), 403, 'cross_origin_request');
      assertCleanError(await ua.postJson(`${base}/signin/options`, {}, { origin: null, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'cross_origin_request');
      assert.equal((await ua.postJson(`${base}/signin/options`, {}, { origin: null, headers: { 'sec-fetch-site': 'same-origin' } })).status, 200);
    });

    test('pages carry a strict CSP with a nonce, and every script has it', async () => {
      const { html } = await page();
      const csp = html.headers.get('content-security-policy')!;
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      for (const tag of html.text.match(/<script[^>]*>/g) ?? []) assert.ok(tag.includes(`nonce="${nonce}"`), tag);
      assert.doesNotMatch(html.text, /\son[a-z]+=/i, 'no inline event handlers');
      assert.equal(html.headers.get('x-frame-options'), 'DENY');
    });

    test('values are HTML-escaped (login_hint reflected into the page)', async () => {
      const ua = new UserAgent(server.origin);
      const { page: html } = await openSignInPage(ua, authorizeUrl(server, client, { login_hint: '"><script>alert(1)</script>' }));
      assert.doesNotMatch(html.text, /<script>alert/);
      assert.match(html.text, /&quot;&gt;&lt;script&gt;/);
    });

    test('cookies are HttpOnly and SameSite; Secure under https', async () => {
      const ua = new UserAgent(server.origin);
      const response = await ua.get(authorizeUrl(server, client));
      const cookies = response.headers.getSetCookie();
      assert.ok(cookies.length > 0);
      for (const cookie of cookies) {
        assert.match(cookie, /httponly/i, cookie);
        assert.match(cookie, /samesite=(lax|strict|none)/i, cookie);
      }
      const https = await startTestServer(db, { env: { PUBLIC_URL: 'https://id.example.com', TRUST_PROXY: 'true', SESAME_DEMO: 'true', SESAME_SECRET_KEY: randomBytes(32).toString('base64') } });
      try {
        const httpsClient = await https.services.tenants.createClient({ tenantId: 'demo', redirectUris: ['https://rp.example.com/callback'] });
        const url = authorizeUrl(https, httpsClient).replace('https://id.example.com', `http://localhost:${https.port}`);
        const secure = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https', host: 'id.example.com' } });
        const setCookies = secure.headers.getSetCookie();
        assert.ok(setCookies.length > 0);
        for (const cookie of setCookies) assert.match(cookie, /;\s*secure/i, cookie);
        assert.match(secure.headers.get('strict-transport-security') ?? '', /max-age/);
      } finally {
        await https.close();
      }
    });

    test('bad input gets a clear 4xx and changes nothing', async () => {
      const before = await userCount();
      const { ua, base } = await page();
      const raw = (body: string, type = 'application/json') => ua.request(`${base}/signup/options`, { method: 'POST', headers: { 'content-type': type }, body });
      assertCleanError(await raw('{"email": '), 400);
      assertCleanError(await raw(JSON.stringify({ email: 42, displayName: [] })), 400, 'invalid_request');
      assertCleanError(await raw(JSON.stringify({ email: 'not-an-email', displayName: 'x' })), 400, 'invalid_request');
      assertCleanError(await raw(JSON.stringify({ displayName: 'x' })), 400, 'invalid_request');
      assertCleanError(await raw(JSON.stringify({ email: 'big@example.com', displayName: 'x'.repeat(200 * 1024) })), 413, 'body_too_large');
      assertCleanError(await raw('email=a@b.c', 'text/plain'), 415);
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: 'nope', response: { id: '!!', type: 'public-key' } }), 400, 'invalid_request');
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: 'nope', response: authenticator.getAssertion((await startCeremony(ua, base, email)).options, server.origin) }), 400, 'challenge_invalid');
      assert.equal(await userCount(), before);
    });

    test('authorization requests with an unknown client, unregistered redirect_uri or missing parameters get a 400 page, not a redirect', async () => {
      const ua = new UserAgent(server.origin);
      const cases = [
        authorizeUrl(server, { ...client, clientId: 'unknown-client' }),
        authorizeUrl(server, client, { redirect_uri: 'https://evil.example.com/callback' }),
        `${issuer(server)}/auth?client_id=${client.clientId}`,
        `${issuer(server)}/auth`,
      ];
      for (const url of cases) {
        const response = await ua.get(url);
        assert.equal(response.status, 400, `${url} → ${response.status}`);
        assert.equal(response.headers.get('location'), null);
        assert.doesNotMatch(response.text, /at [\w.<>]+ \(|node_modules/);
        assert.match(response.text, /We could not complete this sign-in/);
      }
      const missingType = await ua.get(authorizeUrl(server, client, { response_type: '' }));
      assert.ok(missingType.status === 400 || missingType.status === 303);
    });

    test('the token endpoint refuses a wrong secret and garbage', async () => {
      const post = (body: Record<string, string>) => fetch(`${issuer(server)}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      const wrongSecret = await post({ grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://rp.example.com/callback', client_id: client.clientId, client_secret: 'wrong' });
      assert.equal(wrongSecret.status, 401);
      assert.equal((await wrongSecret.json()).error, 'invalid_client');
      const garbage = await post({ grant_type: 'authorization_code', code: 'x', client_id: client.clientId, client_secret: client.clientSecret });
      assert.equal(garbage.status, 400);
      const huge = await fetch(`${issuer(server)}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `code=${'a'.repeat(200 * 1024)}` });
      assert.ok(huge.status >= 400 && huge.status < 500, String(huge.status));
    });

    test('tenants are isolated: a passkey of one tenant does not sign in to another', async () => {
      await server.services.tenants.createTenant('other', 'Other');
      const otherClient = await createClient(server, { tenantId: 'other' });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, otherClient, {}, 'other'));
      assertCleanError(await ua.postJson(`${base}/signin/options`, { email }), 404, 'unknown_account');
      const start = await startCeremony(ua, base);
      const response = authenticator.getAssertion(start.options, server.origin);
      assertCleanError(await ua.postJson(`${base}/signin/verify`, { challengeId: start.challengeId, response }), 400, 'unknown_credential');
    });

    test('an unknown tenant is a clear 404', async () => {
      const ua = new UserAgent(server.origin);
      const response = await ua.get(`${server.origin}/nosuch/oidc/.well-known/openid-configuration`);
      assertCleanError(response, 404, 'unknown_tenant');
      assert.match(response.json().message, /no tenant called "nosuch"/);
    });
  });
}

describe('rate limits', () => {
  test('sign-in attempts are limited per IP and per account', async () => {
    const server = await startTestServer('sqlite', { env: { RATE_LIMIT_PER_IP: '8', RATE_LIMIT_PER_ACCOUNT: '3' } });
    try {
      const client = await createClient(server);
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await signUp(ua, new SoftwareAuthenticator(), base, 'limited@example.com', 'L');
      const { base: base2 } = await openSignInPage(ua, authorizeUrl(server, client));
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await ua.postJson(`${base2}/signin/options`, { email: 'limited@example.com' })).status);
      // Sign-up spent one of the account's three attempts.
      assert.deepEqual(statuses, [200, 200, 429, 429], 'per account');
      const ipStatuses = [];
      for (let i = 0; i < 6; i += 1) ipStatuses.push((await ua.postJson(`${base2}/signin/options`, {})).status);
      assert.ok(ipStatuses.includes(429), `per IP: ${ipStatuses}`);
      const limited = await ua.postJson(`${base2}/signin/options`, {});
      assert.equal(limited.status, 429);
      assert.equal(limited.json().error, 'rate_limited');
      assert.ok(limited.headers.get('retry-after'));
    } finally {
      await server.close();
    }
  });
});

describe('operations endpoints', () => {
  test('health, readiness and metrics', async () => {
    const server = await startTestServer('sqlite');
    try {
      assert.equal((await fetch(`${server.origin}/healthz`)).status, 200);
      const ready = await fetch(`${server.origin}/readyz`);
      assert.equal((await ready.json()).status, 'ready');
      const metrics = await (await fetch(`${server.origin}/metrics`)).text();
      assert.match(metrics, /process_cpu_seconds_total/);
      assert.match(metrics, /sesame_ceremonies_total/);
    } finally {
      await server.close();
    }
  });
});
