import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, issuer, openSignInPage, signUp } from './support/flow.js';
import { SqlAdapter, storedId } from '../src/oidc/adapter.js';
import { ClientRepository } from '../src/storage/repositories/clients.js';
import { buildMigrations } from '../src/storage/migrations.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** Codes, tokens and session ids are bearer secrets: a copy of oidc_payloads must not contain them. */
for (const db of await databases()) {
  describe(`oidc ids are stored hashed (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    const table = async () => JSON.stringify(await server.services.database.db.selectFrom('oidc_payloads').selectAll().execute());

    const refresh = (refreshToken: string) => fetch(`${issuer(server)}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId, client_secret: client.clientSecret }),
    });

    test('no code, token or session id appears in oidc_payloads, and the flows still work', async () => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, { scope: 'openid email offline_access', prompt: 'consent' }));
      const { params } = await finishAtRp(ua, await signUp(ua, new SoftwareAuthenticator(), base, `hashed-${db}@example.com`, 'Hashed'));
      const sessionId = (await ua.jar.getCookies(`${server.origin}/demo/oidc`)).find((c) => c.key === '_session')?.value;
      assert.ok(sessionId, 'the browser has a session');
      assert.ok((await table()).includes(storedId(params.code)), 'the code is stored by its hash');

      const tokens = await exchangeCode(server, client, params.code);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      const me = await fetch(`${issuer(server)}/me`, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
      assert.equal(me.status, 200);
      const refreshed = await refresh(tokens.body.refresh_token);
      assert.equal(refreshed.status, 200);
      const rotated = (await refreshed.json()).refresh_token as string;

      // A signed-in browser asked to sign in again: oidc-provider keeps the session's id in the Interaction it saves.
      await openSignInPage(ua, authorizeUrl(server, client, { prompt: 'login' }));
      const stored = await table();
      assert.ok(stored.includes('"Interaction"'), 'an interaction of the signed-in browser is stored');
      for (const [name, secret] of Object.entries({ code: params.code, access: tokens.body.access_token, refresh: tokens.body.refresh_token, rotated, session: sessionId })) {
        assert.ok(!stored.includes(secret), `the ${name} id is not stored in the clear`);
      }

      const again = await ua.follow(authorizeUrl(server, client, { response_mode: 'query', prompt: 'none' }));
      const location = new URL(again.headers.get('location') ?? again.url);
      assert.ok(location.searchParams.get('code'), `the session is found by its cookie: ${again.status} ${location.href}`);
      assert.equal((await refresh(tokens.body.refresh_token)).status, 400, 'a rotated refresh token is refused');
    });

    test('the migration hashes the ids of an existing database', async () => {
      const kysely = server.services.database.db;
      await kysely.deleteFrom('oidc_payloads').execute();
      const expiresAt = Date.now() + 60_000;
      await kysely.insertInto('oidc_payloads').values([
        { tenant_id: 'demo', model: 'RefreshToken', id: 'legacy-refresh-token', payload: JSON.stringify({ jti: 'legacy-refresh-token', kind: 'RefreshToken', grantId: 'g1' }), grant_id: 'g1', user_code: null, uid: null, expires_at: expiresAt, consumed_at: null },
        { tenant_id: 'demo', model: 'Session', id: 'legacy-session', payload: JSON.stringify({ jti: 'legacy-session', kind: 'Session', uid: 'u1' }), grant_id: null, user_code: null, uid: 'u1', expires_at: expiresAt, consumed_at: null },
      ]).execute();
      // The conversion step itself, on rows as the code before it wrote them.
      await buildMigrations({ secrets: server.services.database.secrets })['0007_hash_oidc_ids'].up(kysely);

      assert.ok(!(await table()).includes('legacy-'), 'no id in the clear, in ids or payloads');
      const adapter = (model: string) => new SqlAdapter(kysely, new ClientRepository(kysely, server.services.database.secrets), 'demo', model);
      assert.equal((await adapter('RefreshToken').find('legacy-refresh-token'))?.jti, 'legacy-refresh-token');
      assert.equal((await adapter('Session').find('legacy-session'))?.uid, 'u1');
      assert.equal((await adapter('Session').findByUid('u1'))?.kind, 'Session');
    });
  });
}
