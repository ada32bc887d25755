import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import {
  authorizeUrl, createClient, exchangeCode, finishAtRp, issuer, openSignInPage, pageConfig, RP_REDIRECT, signIn, signUpThroughRp, verifyIdToken, proveEmail,
} from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

for (const db of await databases()) {
  describe(`OIDC flows with passkeys (${db})`, () => {
    let server: TestServer;
    let client: Client;

    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    test('sign-up with a passkey ends in an ID token with every claim', async () => {
      const { result, claims } = await signUpThroughRp(server, client, 'Ada@Example.com', 'Ada Lovelace');
      assert.equal(result.mode, 'form_post');
      assert.equal(result.params.state, 'state-1');
      assert.equal(claims.iss, issuer(server));
      assert.equal(claims.aud, client.clientId);
      assert.equal(claims.name, 'Ada Lovelace');
      assert.equal(claims.email, 'ada@example.com');
      assert.equal(claims.email_verified, true, 'the address was proved with the mailed code');
      assert.equal(claims.nonce, 'nonce-1');
      assert.equal(claims.acr, 'phr');
      assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
      assert.equal(typeof claims.auth_time, 'number');
      assert.match(String(claims.sub), /^[A-Za-z0-9_-]{22}$/);
      assert.notEqual(claims.sub, 'ada@example.com');
    });

    test('packed self attestation is verified; the credential keeps its counter, flags, transports, AAGUID and format', async () => {
      const aaguid = '0132d110-bf4e-4208-a403-ab4f5f12efe5';
      const authenticator = new SoftwareAuthenticator({ attestation: 'packed', aaguid });
      const { claims } = await signUpThroughRp(server, client, 'packed@example.com', 'Packed', authenticator);
      const [credential] = await server.services.database.db.selectFrom('credentials').selectAll().where('user_id', '=', String(claims.sub)).execute();
      assert.equal(credential.attestation_format, 'packed');
      assert.equal(credential.aaguid, aaguid);
      assert.equal(JSON.parse(credential.transports)[0], 'internal');
      assert.equal(Number(credential.backed_up), 0);
      assert.equal(credential.device_type, 'singleDevice');
      assert.equal(Number(credential.sign_count), 0);

      // Each sign-in moves the stored counter forward.
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await finishAtRp(ua, await signIn(ua, authenticator, base, 'packed@example.com'));
      const after = await server.services.database.db.selectFrom('credentials').select(['sign_count', 'last_used_at']).where('id', '=', credential.id).executeTakeFirstOrThrow();
      assert.equal(Number(after.sign_count), 1);
    });

    test('username-first and discoverable sign-in return the same stable sub; synced passkeys give swk', async () => {
      const authenticator = new SoftwareAuthenticator({ synced: true });
      const first = await signUpThroughRp(server, client, 'grace@example.com', 'Grace Hopper', authenticator);
      assert.deepEqual(first.claims.amr, ['swk', 'user', 'mfa']);

      for (const email of ['grace@example.com', undefined]) {
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server, client, { nonce: 'n2' }));
        const result = await finishAtRp(ua, await signIn(ua, authenticator, base, email));
        const tokens = await exchangeCode(server, client, result.params.code, { auth: 'basic' });
        assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
        const claims = await verifyIdToken(server, client, tokens.body.id_token);
        assert.equal(claims.sub, first.claims.sub);
        assert.equal(claims.email, 'grace@example.com');
        assert.equal(claims.nonce, 'n2');
      }
    });

    test('the sign-in page carries its autofill ceremony: its challenge signs in once, with no options request', async () => {
      const authenticator = new SoftwareAuthenticator();
      const first = await signUpThroughRp(server, client, 'katherine@example.com', 'Katherine Johnson', authenticator);
      const ua = new UserAgent(server.origin);
      const { base, page } = await openSignInPage(ua, authorizeUrl(server, client, { nonce: 'n-inline' }));
      const { autofill } = pageConfig(page.text);
      assert.match(String(autofill?.challengeId), /^[A-Za-z0-9_-]+$/, 'the page holds a challenge');
      assert.deepEqual(autofill.options.allowCredentials, [], 'for any passkey: autofill asks no address');
      const verify = () => ua.postJson(`${base}/signin/verify`, { challengeId: autofill.challengeId, response: authenticator.getAssertion(autofill.options, ua.origin) });
      const done = await verify();
      assert.equal(done.status, 200, done.text);
      const again = await verify();
      assert.equal(again.status, 400, 'the challenge is good for one sign-in');
      assert.equal(again.json().error, 'challenge_invalid');
      const result = await finishAtRp(ua, done.json().redirectTo);
      const tokens = await exchangeCode(server, client, result.params.code);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      const claims = await verifyIdToken(server, client, tokens.body.id_token);
      assert.equal(claims.sub, first.claims.sub);
      assert.equal(claims.nonce, 'n-inline');
    });

    test('response_mode=query, userinfo, refresh token with offline_access, revocation', async () => {
      const authenticator = new SoftwareAuthenticator();
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, { response_mode: 'query', scope: 'openid profile email offline_access', prompt: 'consent' }));
      const start = (await ua.postJson(`${base}/signup/options`, { email: 'linus2@example.com', displayName: 'Linus', verificationId: await proveEmail(ua, base, 'linus2@example.com', 'Linus') })).json();
      const done = await ua.postJson(`${base}/signup/verify`, { challengeId: start.challengeId, response: authenticator.createCredential(start.options, server.origin) });
      const result = await finishAtRp(ua, done.json().redirectTo);
      assert.equal(result.mode, 'query');
      assert.equal(result.params.iss, issuer(server));
      const tokens = await exchangeCode(server, client, result.params.code);
      assert.equal(tokens.status, 200);
      assert.ok(tokens.body.refresh_token, 'refresh token issued for offline_access');

      const me = await fetch(`${issuer(server)}/me`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
      assert.equal(me.status, 200);
      assert.equal((await me.json()).email, 'linus2@example.com');

      const refreshed = await fetch(`${issuer(server)}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.clientId, client_secret: client.clientSecret }),
      });
      const refreshedBody = await refreshed.json();
      assert.equal(refreshed.status, 200, JSON.stringify(refreshedBody));
      const claims = await verifyIdToken(server, client, refreshedBody.id_token);
      assert.equal(claims.email, 'linus2@example.com');

      const revoked = await fetch(`${issuer(server)}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: refreshedBody.refresh_token, client_id: client.clientId, client_secret: client.clientSecret }),
      });
      assert.equal(revoked.status, 200);
      const reuse = await fetch(`${issuer(server)}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshedBody.refresh_token, client_id: client.clientId, client_secret: client.clientSecret }),
      });
      assert.equal(reuse.status, 400);
    });

    test('session reuse, prompt=none, prompt=login, max_age and login_hint', async () => {
      const { ua, authenticator } = await signUpThroughRp(server, client, 'ken@example.com', 'Ken');
      // With a session, a new request completes without a page.
      const silent = await finishAtRp(ua, authorizeUrl(server, client, { prompt: 'none', nonce: 'silent' }));
      assert.ok(silent.params.code);
      // Without a session, prompt=none answers login_required to the RP.
      const stranger = new UserAgent(server.origin);
      const denied = await finishAtRp(stranger, authorizeUrl(server, client, { prompt: 'none' }));
      assert.equal(denied.params.error, 'login_required');
      assert.equal(denied.params.state, 'state-1');
      // prompt=login and max_age=0 force a new passkey ceremony even with a session.
      for (const params of [{ prompt: 'login' }, { max_age: '0' }] as Array<Record<string, string>>) {
        const { base } = await openSignInPage(ua, authorizeUrl(server, client, params));
        const result = await finishAtRp(ua, await signIn(ua, authenticator, base, 'ken@example.com'));
        const tokens = await exchangeCode(server, client, result.params.code);
        const claims = await verifyIdToken(server, client, tokens.body.id_token);
        assert.ok(Math.abs(Number(claims.auth_time) - Date.now() / 1000) < 30);
      }
      // login_hint pre-fills the e-mail field.
      const hinted = await openSignInPage(new UserAgent(server.origin), authorizeUrl(server, client, { login_hint: 'ken@example.com' }));
      assert.match(hinted.page.text, /value="ken@example.com"/);
    });

    test('end_session without id_token_hint signs out and honours a registered post_logout_redirect_uri', async () => {
      const { ua } = await signUpThroughRp(server, client, 'barbara@example.com', 'Barbara');
      const page = await ua.get(`${issuer(server)}/session/end?client_id=${client.clientId}&post_logout_redirect_uri=${encodeURIComponent('https://rp.example.com/signed-out')}`);
      assert.equal(page.status, 200);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(xsrf, 'logout confirmation form');
      const confirm = await ua.request(`${issuer(server)}/session/end/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf, logout: 'yes' }),
      });
      assert.equal(confirm.status, 303);
      assert.equal(confirm.headers.get('location'), 'https://rp.example.com/signed-out');
      const afterLogout = await finishAtRp(ua, authorizeUrl(server, client, { prompt: 'none' }));
      assert.equal(afterLogout.params.error, 'login_required');
      // An unregistered post_logout_redirect_uri is refused.
      const bad = await ua.get(`${issuer(server)}/session/end?client_id=${client.clientId}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example.com/')}`);
      assert.equal(bad.status, 400);
    });

    test('PKCE: verified when sent, required when the client demands it', async () => {
      const { createHash, randomBytes } = await import('node:crypto');
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const authenticator = new SoftwareAuthenticator();
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, { code_challenge: challenge, code_challenge_method: 'S256' }));
      const start = (await ua.postJson(`${base}/signup/options`, { email: 'pkce@example.com', displayName: 'P', verificationId: await proveEmail(ua, base, 'pkce@example.com', 'P') })).json();
      const done = await ua.postJson(`${base}/signup/verify`, { challengeId: start.challengeId, response: authenticator.createCredential(start.options, server.origin) });
      const result = await finishAtRp(ua, done.json().redirectTo);
      const wrong = await exchangeCode(server, client, result.params.code, { extra: { code_verifier: 'x'.repeat(43) } });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, 'invalid_grant');

      const strict = await createClient(server, { requirePkce: true });
      const missing = await finishAtRp(new UserAgent(server.origin), authorizeUrl(server, strict));
      assert.equal(missing.params.error, 'invalid_request');
      assert.match(missing.params.error_description, /PKCE/);
    });

    test('an authorization code works once', async () => {
      const ua = new UserAgent(server.origin);
      const authenticator = new SoftwareAuthenticator();
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const start = (await ua.postJson(`${base}/signup/options`, { email: 'once@example.com', displayName: 'Once', verificationId: await proveEmail(ua, base, 'once@example.com', 'Once') })).json();
      const done = await ua.postJson(`${base}/signup/verify`, { challengeId: start.challengeId, response: authenticator.createCredential(start.options, server.origin) });
      const { params } = await finishAtRp(ua, done.json().redirectTo);
      assert.equal((await exchangeCode(server, client, params.code)).status, 200);
      const replay = await exchangeCode(server, client, params.code);
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
    });

    test('discovery advertises what B2C needs; the JWKS holds RSA keys only', async () => {
      const discovery = await (await fetch(`${issuer(server)}/.well-known/openid-configuration`)).json();
      assert.equal(discovery.issuer, issuer(server));
      assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);
      for (const mode of ['form_post', 'query']) assert.ok(discovery.response_modes_supported.includes(mode));
      for (const method of ['client_secret_post', 'client_secret_basic']) assert.ok(discovery.token_endpoint_auth_methods_supported.includes(method));
      assert.ok(discovery.end_session_endpoint);
      assert.ok(discovery.revocation_endpoint);
      assert.deepEqual(discovery.acr_values_supported, ['phrh', 'phr']);
      const jwks = await (await fetch(discovery.jwks_uri)).json();
      assert.ok(jwks.keys.length >= 1);
      for (const key of jwks.keys) {
        assert.equal(key.kty, 'RSA');
        assert.equal(key.use, 'sig');
        assert.equal(key.d, undefined, 'no private parts');
      }
      assert.equal(RP_REDIRECT.startsWith('https://'), true);
    });
  });
}

describe('the sign-in page over HTTP: ways out and early refusals', () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await startTestServer('sqlite');
    client = await createClient(server);
  });
  after(() => server.close());

  test('a malformed address is refused with a sentence for people, not a validator message', async () => {
    const ua = new UserAgent(server.origin);
    const { base } = await openSignInPage(ua, authorizeUrl(server, client));
    const answer = await ua.postJson(`${base}/signin/options`, { email: 'ada@example' });
    assert.equal(answer.status, 400);
    assert.equal(answer.json().message, 'Enter your e-mail address in the form name@example.com.');
  });

  test('a request without the openid scope is refused on the page and before any passkey request', async () => {
    const ua = new UserAgent(server.origin);
    const page = await ua.follow(authorizeUrl(server, client, { scope: 'profile email', response_mode: 'query', nonce: '' }));
    assert.equal(page.status, 400);
    assert.match(page.text, /without the &quot;openid&quot; scope/);
    assert.doesNotMatch(page.text, /Continue with passkey/);
    const base = /\/demo\/interaction\/[^/?#]+/.exec(page.url)![0];
    const uid = base.split('/').pop()!;
    const challenges = await server.services.database.db.selectFrom('webauthn_challenges').select('id').where('interaction_uid', '=', uid).execute();
    assert.deepEqual(challenges, [], 'the refusing page started no ceremony');
    const options = await ua.postJson(`${server.origin}${base}/signin/options`, {});
    assert.equal(options.status, 400);
    assert.equal(options.json().error, 'openid_scope_missing');
  });

  test('without JavaScript the e-mail form is posted, never put in a URL, and the page comes back', async () => {
    const ua = new UserAgent(server.origin);
    const { base, page } = await openSignInPage(ua, authorizeUrl(server, client));
    assert.match(page.text, /<form id="signin-form" class="stack" method="post"/);
    const posted = await ua.request(base, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=ada%40example.com' });
    assert.equal(posted.status, 303);
    assert.equal(new URL(posted.headers.get('location')!, base).href, base);
  });

  test('after sign-up the page learns where the passkey is; Back after signing in offers the way to the application', async () => {
    const ua = new UserAgent(server.origin);
    const authenticator = new SoftwareAuthenticator();
    const { base } = await openSignInPage(ua, authorizeUrl(server, client));
    const start = (await ua.postJson(`${base}/signup/options`, { email: 'grace@example.com', displayName: 'Grace Hopper', verificationId: await proveEmail(ua, base, 'grace@example.com', 'Grace Hopper') })).json();
    const done = await ua.postJson(`${base}/signup/verify`, { challengeId: start.challengeId, response: authenticator.createCredential(start.options, ua.origin) });
    assert.equal(done.status, 200, done.text);
    assert.ok(['device', 'password_manager'].includes(done.json().savedIn));
    await finishAtRp(ua, done.json().redirectTo);

    const back = await ua.get(base);
    assert.equal(back.status, 400);
    assert.match(back.text, /This sign-in is over/);
    assert.match(back.text, /<a class="button primary" href="https:\/\/rp\.example\.com\/">Continue to /);
  });
});
