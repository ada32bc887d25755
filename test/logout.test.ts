import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { localhostCertificate } from './support/tls.js';
import { authorizeUrl, exchangeCode, finishAtRp, issuer, openSignInPage, RP_REDIRECT, signIn, signUpThroughRp, verifyIdToken } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Logout: RP-initiated logout end to end, and OIDC Back-Channel Logout 1.0 to a client that
 * registered a URI — when the person signs out, and when an administrator disables or deletes
 * them, and when a person removes the passkey that opened a session. The receiver is a real https server; each logout token it gets is verified against the
 * tenant's JWKS, as a relying party must.
 */
interface Receiver { url: string; tokens: string[]; failing: boolean; waitFor(count: number): Promise<string[]>; close(): Promise<void> }

async function startReceiver(tls: { cert: Buffer; key: Buffer }): Promise<Receiver> {
  const tokens: string[] = [];
  const waiters: Array<() => void> = [];
  const receiver = { tokens, failing: false } as Receiver;
  const server = https.createServer(tls, (req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      if (receiver.failing) {
        res.writeHead(500).end();
        return;
      }
      assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  receiver.url = `https://localhost:${(server.address() as AddressInfo).port}/backchannel-logout`;
  receiver.waitFor = async (count) => {
    while (tokens.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return tokens.slice(0, count);
  };
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}

for (const db of await databases()) {
  describe(`logout (${db})`, () => {
    const tls = localhostCertificate();
    let server: TestServer;
    let receiver: Receiver;
    let withBackchannel: Client;
    let plain: Client;

    const registerClient = async (name: string, backchannelLogoutUri?: string): Promise<Client> => {
      const { client, clientSecret } = await server.services.clientAdmin.create('demo', {
        name, redirectUris: [RP_REDIRECT], postLogoutRedirectUris: ['https://rp.example.com/signed-out'], backchannelLogoutUri,
      });
      return (await server.services.clients.find('demo', client.clientId).then((record) => ({ ...record!, clientSecret: clientSecret! })));
    };

    /** A logout token verified as a relying party verifies it (OIDC Back-Channel Logout 1.0 §2.6). */
    const verifyLogoutToken = async (token: string, client: Client): Promise<JWTPayload & Record<string, any>> => {
      const jwks = createRemoteJWKSet(new URL(`${issuer(server)}/jwks`));
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: issuer(server), audience: client.clientId, algorithms: ['RS256'], typ: 'logout+jwt' });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.ok(payload.jti && payload.iat);
      assert.equal((payload as Record<string, unknown>).nonce, undefined, 'a logout token has no nonce');
      return payload as JWTPayload & Record<string, any>;
    };

    before(async () => {
      receiver = await startReceiver(tls);
      server = await startTestServer(db, { outboundCa: tls.cert, env: { OUTBOUND_ALLOW_PRIVATE: 'localhost' } });
      withBackchannel = await registerClient('Shop with back-channel', receiver.url);
      plain = await registerClient('Blog');
    });
    after(async () => {
      await server.close();
      await receiver.close();
    });

    test('discovery announces back-channel logout with sessions', async () => {
      const discovery = await (await fetch(`${issuer(server)}/.well-known/openid-configuration`)).json();
      assert.equal(discovery.backchannel_logout_supported, true);
      assert.equal(discovery.backchannel_logout_session_supported, true);
      assert.ok(discovery.end_session_endpoint);
    });

    test('RP-initiated logout with id_token_hint: confirmed, back to the RP with its state, session over, logout token to the client', async () => {
      receiver.tokens.length = 0;
      const { ua, tokens, claims } = await signUpThroughRp(server, withBackchannel, 'rita@example.com', 'Rita');
      assert.ok(claims.sid, 'a client with back-channel logout gets sid in its ID token');
      const params = new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://rp.example.com/signed-out', state: 'bye-1' });
      const page = await ua.get(`${issuer(server)}/session/end?${params}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /Shop with back-channel/);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(xsrf);
      const confirm = await ua.request(`${issuer(server)}/session/end/confirm`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf, logout: 'yes' }),
      });
      assert.equal(confirm.status, 303);
      assert.equal(confirm.headers.get('location'), 'https://rp.example.com/signed-out?state=bye-1');
      const [token] = await receiver.waitFor(1);
      const logout = await verifyLogoutToken(token, withBackchannel);
      assert.equal(logout.sub, claims.sub);
      assert.equal(logout.sid, claims.sid);
      assert.equal((await finishAtRp(ua, authorizeUrl(server, withBackchannel, { prompt: 'none' }))).params.error, 'login_required');
    });

    test('disabling a user through the admin API ends their session and sends a logout token to the clients that asked for one', async () => {
      receiver.tokens.length = 0;
      const { ua, claims, tokens } = await signUpThroughRp(server, withBackchannel, 'dora@example.com', 'Dora');
      // The same browser session signs in to a second client, which registered no back-channel URI.
      assert.ok((await finishAtRp(ua, authorizeUrl(server, plain))).params.code);
      const { token: apiToken } = await server.services.apiTokens.create({ tenantId: 'demo' });
      const disabled = await fetch(`${server.origin}/api/tenants/demo/users/${claims.sub}/disable`, { method: 'POST', headers: { authorization: `Bearer ${apiToken}` } });
      assert.equal(disabled.status, 200, await disabled.text());

      const [token] = await receiver.waitFor(1);
      const logout = await verifyLogoutToken(token, withBackchannel);
      assert.equal(logout.sub, claims.sub);
      assert.equal(logout.sid, claims.sid);
      assert.equal(receiver.tokens.length, 1, 'only the client with a back-channel URI is told');
      assert.equal((await finishAtRp(ua, authorizeUrl(server, withBackchannel, { prompt: 'none' }))).params.error, 'login_required', 'the browser session is over');
      const userinfo = await fetch(`${issuer(server)}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(userinfo.status, 401, 'the access token is revoked with the session\'s grants');
      const events = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', userId: claims.sub, type: 'logout.backchannel_sent' })) events.push(e);
      assert.equal(events.length, 1);
    });

    test('deleting a user (what sesame user delete calls) notifies the clients too; an unreachable client is recorded and stops nothing', async () => {
      receiver.tokens.length = 0;
      const { claims } = await signUpThroughRp(server, withBackchannel, 'del@example.com', 'Del');
      await server.services.userAdmin.delete('demo', 'del@example.com');
      const logout = await verifyLogoutToken((await receiver.waitFor(1))[0], withBackchannel);
      assert.equal(logout.sub, claims.sub);

      const second = await signUpThroughRp(server, withBackchannel, 'down@example.com', 'Down');
      receiver.failing = true;
      try {
        await server.services.userAdmin.disable('demo', 'down@example.com');
      } finally {
        receiver.failing = false;
      }
      assert.equal((await server.services.users.findByEmail('demo', 'down@example.com'))?.disabled, true, 'disabled all the same');
      const failures = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', userId: second.claims.sub, type: 'logout.backchannel_failed' })) failures.push(e);
      assert.equal(failures.length, 1);
      assert.equal(failures[0].detail.clientId, withBackchannel.clientId);
    });

    test('a client whose receiver never answers is given up when oidc-provider stops waiting (its request deadline), not held to the outbound maximum', async () => {
      const silent = https.createServer(tls, () => { /* takes the logout token and never answers */ });
      await new Promise<void>((resolve) => silent.listen(0, 'localhost', resolve));
      try {
        const hanging = await registerClient('Hanging shop', `https://localhost:${(silent.address() as AddressInfo).port}/logout`);
        const { claims } = await signUpThroughRp(server, hanging, 'hang@example.com', 'Hang');
        const { token: apiToken } = await server.services.apiTokens.create({ tenantId: 'demo' });
        const disabled = await fetch(`${server.origin}/api/tenants/demo/users/${claims.sub}/disable`, { method: 'POST', headers: { authorization: `Bearer ${apiToken}` } });
        assert.equal(disabled.status, 200, await disabled.text());
        const failures = [];
        for await (const e of server.services.audit.list({ tenantId: 'demo', userId: claims.sub, type: 'logout.backchannel_failed' })) failures.push(e);
        assert.equal(failures.length, 1);
        assert.match(String(failures[0].detail.reason), /stopped waiting/, 'abandoned at the caller\'s deadline, not after the outbound client\'s own 10 s');
      } finally {
        silent.closeAllConnections();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    test('a person removing one of their passkeys on the account page: the sessions it opened end, and their clients get logout tokens', async () => {
      receiver.tokens.length = 0;
      const lost = new SoftwareAuthenticator();
      const kept = new SoftwareAuthenticator();
      const account = `${server.origin}/demo/account`;
      const accountSignIn = async (ua: UserAgent, authenticator: SoftwareAuthenticator) => {
        const start = (await ua.postJson(`${account}/signin/options`, {})).json();
        const done = await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
        assert.equal(done.status, 200, done.text);
      };
      // The lost device signed in to the shop (one browser); the kept passkey, added on the account page, signed in to it too (another browser).
      const onLost = await signUpThroughRp(server, withBackchannel, 'paula@example.com', 'Paula', lost);
      const owner = new UserAgent(server.origin);
      await accountSignIn(owner, lost);
      const add = (await owner.postJson(`${account}/passkeys/options`, {})).json();
      assert.equal((await owner.postJson(`${account}/passkeys/verify`, { challengeId: add.challengeId, response: kept.createCredential(add.options, server.origin) })).status, 200);
      const onKept = new UserAgent(server.origin);
      const { base } = await openSignInPage(onKept, authorizeUrl(server, withBackchannel));
      const keptCode = (await finishAtRp(onKept, await signIn(onKept, kept, base))).params.code;
      const keptClaims = await verifyIdToken(server, withBackchannel, (await exchangeCode(server, withBackchannel, keptCode)).body.id_token);
      assert.notEqual(keptClaims.sid, onLost.claims.sid);

      const remover = new UserAgent(server.origin);
      await accountSignIn(remover, kept);
      const [lostId] = lost.credentials.keys();
      const removed = await remover.postJson(`${account}/passkeys/remove`, { credentialId: lostId });
      assert.equal(removed.status, 200, removed.text);

      const logout = await verifyLogoutToken((await receiver.waitFor(1))[0], withBackchannel);
      assert.equal(logout.sub, onLost.claims.sub);
      assert.equal(logout.sid, onLost.claims.sid, 'the token names the session the lost passkey opened');
      assert.equal((await finishAtRp(onLost.ua, authorizeUrl(server, withBackchannel, { prompt: 'none' }))).params.error, 'login_required', 'that session is over');
      assert.ok((await finishAtRp(onKept, authorizeUrl(server, withBackchannel, { prompt: 'none' }))).params.code, 'the kept passkey\'s session goes on');
      assert.equal(receiver.tokens.length, 1, 'no token for the session that goes on');
      const sent = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', userId: onLost.claims.sub, type: 'logout.backchannel_sent' })) sent.push(e);
      assert.deepEqual(sent.map((e) => e.detail.clientId), [withBackchannel.clientId]);
    });

    test('back-channel logout goes through the outbound policy: plain http is refused at registration, a private address at delivery', async () => {
      await assert.rejects(server.services.clientAdmin.create('demo', { name: 'Bad', redirectUris: [RP_REDIRECT], backchannelLogoutUri: 'http://example.com/logout' }), /must use https/);
      receiver.tokens.length = 0;
      // The same receiver by its IP address, which OUTBOUND_ALLOW_PRIVATE (localhost only) does not allow.
      const private_ = await registerClient('Internal', receiver.url.replace('localhost', '127.0.0.1'));
      const { claims } = await signUpThroughRp(server, private_, 'inside@example.com', 'Inside');
      await server.services.userAdmin.disable('demo', 'inside@example.com');
      const failures = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', userId: claims.sub, type: 'logout.backchannel_failed' })) failures.push(e);
      assert.equal(failures.length, 1);
      assert.match(String(failures[0].detail.reason), /not a public address/);
      assert.equal(receiver.tokens.length, 0);
    });
  });
}
