import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient, PassportError } from '../sdk/passport-client.js';
import { desktopStarts } from './support/crossdevice.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, issuer, openSignInPage, signIn, signUpThroughRp, proveEmail } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Sessions end when they should: the account page's at sign-out, and everything a passkey opened
 * (account-page sessions, OIDC sessions with their refresh tokens, a Passport phone) when the
 * passkey is removed. A browser's session at one tenant survives signing in to another.
 */
for (const db of await databases()) {
  describe(`sessions (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    const accountSignIn = async (ua: UserAgent, authenticator: SoftwareAuthenticator) => {
      const account = `${server.origin}/demo/account`;
      const start = (await ua.postJson(`${account}/signin/options`, {})).json();
      const done = await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
      assert.equal(done.status, 200, done.text);
    };
    const accountCookie = async (ua: UserAgent) => (await ua.jar.getCookies(`${server.origin}/demo/account`)).find((c) => c.key === 'sesame_account')!.value;
    const canManagePasskeys = async (ua: UserAgent) => (await ua.postJson(`${server.origin}/demo/account/passkeys/options`, {})).status === 200;

    test('signing out of the account page ends the session on the server, not only in the browser', async () => {
      const laptop = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'ada@example.com', 'Ada', laptop);
      const ua = new UserAgent(server.origin);
      await accountSignIn(ua, laptop);
      const stolen = await accountCookie(ua);
      assert.equal((await ua.postJson(`${server.origin}/demo/account/signout`, {})).status, 200);

      const thief = new UserAgent(server.origin);
      await thief.jar.setCookie(`sesame_account=${stolen}; Path=/demo/account`, server.origin);
      assert.equal(await canManagePasskeys(thief), false, 'the copied cookie no longer works');
    });

    test('removing a passkey ends the sessions, refresh tokens and Passport phone it opened', async () => {
      const lost = new SoftwareAuthenticator();
      const kept = new SoftwareAuthenticator({ synced: true });
      await signUpThroughRp(server, client, 'barbara@example.com', 'Barbara', lost);

      // The owner adds a second passkey on the account page.
      const owner = new UserAgent(server.origin);
      await accountSignIn(owner, lost);
      const add = (await owner.postJson(`${server.origin}/demo/account/passkeys/options`, {})).json();
      assert.equal((await owner.postJson(`${server.origin}/demo/account/passkeys/verify`, { challengeId: add.challengeId, response: kept.createCredential(add.options, server.origin) })).status, 200);

      // Whoever holds the lost device: an account-page session, an OIDC session with a refresh token, a Passport phone.
      const holder = new UserAgent(server.origin);
      await accountSignIn(holder, lost);
      const { base } = await openSignInPage(holder, authorizeUrl(server, client, { scope: 'openid profile email offline_access', prompt: 'consent' }));
      const code = (await finishAtRp(holder, await signIn(holder, lost, base))).params.code;
      const tokens = (await exchangeCode(server, client, code)).body;
      assert.ok(tokens.refresh_token);
      const phoneApp = new PassportClient(lost);
      await phoneApp.enrolWithPasskey(server.origin, 'demo', 'Lost phone');
      assert.deepEqual(await phoneApp.pendingRequests(), [], 'the Passport phone works before the removal');
      const [lostId] = lost.credentials.keys();
      const ssoBefore = await holder.follow(authorizeUrl(server, client, { prompt: 'none' }), 'https://rp.example.com');
      assert.ok(ssoBefore.url.startsWith('https://rp.example.com') || /name="code"/.test(ssoBefore.text), 'the holder is signed in before the removal');

      // The owner, with the kept passkey, removes the lost one.
      const ownerNow = new UserAgent(server.origin);
      await accountSignIn(ownerNow, kept);
      assert.equal((await ownerNow.postJson(`${server.origin}/demo/account/passkeys/remove`, { credentialId: lostId })).status, 200);

      assert.equal(await canManagePasskeys(holder), false, 'the account-page session of the lost passkey ended');
      assert.equal(await canManagePasskeys(owner), false, 'so did the owner\'s own session opened with it');
      assert.equal(await canManagePasskeys(ownerNow), true, 'the session of the kept passkey goes on');
      const refresh = await fetch(`${issuer(server)}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.clientId, client_secret: client.clientSecret }),
      });
      assert.equal(refresh.status, 400);
      assert.equal((await refresh.json()).error, 'invalid_grant', 'the refresh token is revoked');
      const sso = await finishAtRp(holder, authorizeUrl(server, client, { prompt: 'none' }));
      assert.equal(sso.params.error, 'login_required', 'the OIDC session ended');
      await assert.rejects(phoneApp.pendingRequests(), (e: PassportError) => e.status === 401, 'the Passport phone bound to the passkey is signed out');
    });

    test('removing a phone\'s passkey ends a desktop session that phone approved by QR', async () => {
      const phoneKey = new SoftwareAuthenticator({ synced: true });
      const laptop = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'dora@example.com', 'Dora', phoneKey);
      const owner = new UserAgent(server.origin);
      await accountSignIn(owner, phoneKey);
      const add = (await owner.postJson(`${server.origin}/demo/account/passkeys/options`, {})).json();
      assert.equal((await owner.postJson(`${server.origin}/demo/account/passkeys/verify`, { challengeId: add.challengeId, response: laptop.createCredential(add.options, server.origin) })).status, 200);

      // A desktop signs in by QR, approved with the phone's passkey.
      const { ua: desktop, base, request } = await desktopStarts(server, client);
      await new PassportClient(phoneKey).approve(request.link, request.number);
      const done = await desktop.postJson(`${base}/crossdevice/${request.id}/complete`, {});
      assert.equal(done.status, 200, done.text);
      await finishAtRp(desktop, done.json().redirectTo);
      assert.ok((await finishAtRp(desktop, authorizeUrl(server, client, { prompt: 'none' }))).params.code, 'the desktop is signed in');

      const ownerNow = new UserAgent(server.origin);
      await accountSignIn(ownerNow, laptop);
      const [phoneId] = phoneKey.credentials.keys();
      assert.equal((await ownerNow.postJson(`${server.origin}/demo/account/passkeys/remove`, { credentialId: phoneId })).status, 200);
      assert.equal((await finishAtRp(desktop, authorizeUrl(server, client, { prompt: 'none' }))).params.error, 'login_required');
    });

    test('signing in to another tenant keeps the session at the first one', async () => {
      await server.services.tenants.createTenant('second', 'Second');
      const secondClient = await createClient(server, { tenantId: 'second' });
      const laptop = new SoftwareAuthenticator();
      const { ua } = await signUpThroughRp(server, client, 'carol@example.com', 'Carol', laptop);
      const { base } = await openSignInPage(ua, authorizeUrl(server, secondClient, {}, 'second'));
      const signup = await ua.postJson(`${base}/signup/options`, { email: 'carol@example.com', displayName: 'Carol', verificationId: await proveEmail(ua, base, 'carol@example.com', 'Carol') });
      const { challengeId, options } = signup.json();
      const created = await ua.postJson(`${base}/signup/verify`, { challengeId, response: laptop.createCredential(options, server.origin) });
      assert.equal(created.status, 200, created.text);
      await finishAtRp(ua, created.json().redirectTo);

      const again = await finishAtRp(ua, authorizeUrl(server, client, { prompt: 'none' }));
      assert.ok(again.params.code, `still signed in at the first tenant: ${JSON.stringify(again.params)}`);
    });
  });
}
