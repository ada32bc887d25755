import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, exchangeCode, finishAtRp, issuer, openSignInPage, RP_REDIRECT, signUpThroughRp } from './support/flow.js';
import { buildMigrations } from '../src/storage/migrations.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Deleting a client (admin API; the console and the CLI call the same service) removes what
 * oidc-provider kept for it — grants, codes, access and refresh tokens, pending sign-ins — and its
 * place in people's sessions: a session that served only that client ends, one that also served
 * another client goes on with that one. Nothing of the other client is touched.
 */
for (const db of await databases()) {
  describe(`deleting a client (${db})`, () => {
    let server: TestServer;
    let apiToken: string;
    const kysely = () => server.services.database.db;

    const register = async (name: string): Promise<Client> => {
      const { client, clientSecret } = await server.services.clientAdmin.create('demo', { name, redirectUris: [RP_REDIRECT] });
      return { ...(await server.services.clients.find('demo', client.clientId))!, clientSecret: clientSecret! };
    };

    /** Every stored row that belongs to or mentions the client: its column, its payload's clientId or request, a session's authorizations. */
    const rowsOf = async (clientId: string) => (await kysely().selectFrom('oidc_payloads').selectAll().where('tenant_id', '=', 'demo').execute()).filter((row) => {
      const payload = JSON.parse(row.payload) as { clientId?: string; params?: { client_id?: string }; authorizations?: Record<string, unknown> };
      return row.client_id === clientId || payload.clientId === clientId || payload.params?.client_id === clientId || Boolean(payload.authorizations?.[clientId]);
    });
    const passkeySessions = async (userId: string) => (await kysely().selectFrom('oidc_session_credentials').select('session_uid')
      .where('credential_id', 'in', (eb) => eb.selectFrom('credentials').select('id').where('user_id', '=', userId)).execute()).length;

    before(async () => {
      server = await startTestServer(db);
      apiToken = (await server.services.apiTokens.create({ tenantId: 'demo' })).token;
    });
    after(() => server.close());

    test('its grants, codes, tokens and pending sign-ins go, its sessions end; another client\'s stay', async () => {
      const doomed = await register('Old shop');
      const other = await register('Blog');
      // Ann signed in to the old shop only, with a refresh token; Ben to both, in one browser session.
      const ann = await signUpThroughRp(server, doomed, 'ann@example.com', 'Ann', undefined, { scope: 'openid email offline_access', prompt: 'consent' });
      assert.ok(ann.tokens.refresh_token);
      const ben = await signUpThroughRp(server, other, 'ben@example.com', 'Ben');
      const benAtDoomed = await finishAtRp(ben.ua, authorizeUrl(server, doomed));
      assert.equal((await exchangeCode(server, doomed, benAtDoomed.params.code)).status, 200);
      const unusedCode = (await finishAtRp(ben.ua, authorizeUrl(server, doomed))).params.code;
      assert.ok(unusedCode, 'a code not yet exchanged');
      await openSignInPage(new UserAgent(server.origin), authorizeUrl(server, doomed)); // someone half-way through signing in

      const before = await rowsOf(doomed.clientId);
      const models = new Set(before.map((r) => r.model));
      for (const model of ['Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'Interaction', 'Session']) assert.ok(models.has(model), `a ${model} of the client exists before: ${[...models]}`);
      const otherBefore = (await rowsOf(other.clientId)).length;
      assert.equal(await passkeySessions(ann.claims.sub!), 1);

      const deleted = await fetch(`${server.origin}/api/tenants/demo/clients/${doomed.clientId}`, { method: 'DELETE', headers: { authorization: `Bearer ${apiToken}` } });
      assert.equal(deleted.status, 204, await deleted.text());

      assert.deepEqual((await rowsOf(doomed.clientId)).map((r) => r.model), [], 'nothing of the client is left');
      assert.equal((await rowsOf(other.clientId)).length, otherBefore, 'the other client\'s rows are all there');
      assert.equal(await passkeySessions(ann.claims.sub!), 0, 'Ann\'s session, which served the deleted client only, ended with its passkey record');
      assert.equal(await passkeySessions(ben.claims.sub!), 1, 'Ben\'s goes on');
      assert.equal((await finishAtRp(ann.ua, authorizeUrl(server, other, { prompt: 'none' }))).params.error, 'login_required');
      assert.ok((await finishAtRp(ben.ua, authorizeUrl(server, other, { prompt: 'none' }))).params.code, 'Ben is still signed in to the other client');
      const userinfo = await fetch(`${issuer(server)}/me`, { headers: { authorization: `Bearer ${ben.tokens.access_token}` } });
      assert.equal(userinfo.status, 200, 'the other client\'s access token still works');

      const events = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', type: 'admin.client_deleted' })) events.push(e);
      assert.equal(events.length, 1);
      assert.deepEqual({ ...events[0].detail, payloads: undefined }, { clientId: doomed.clientId, name: 'Old shop', payloads: undefined, sessionsEnded: 1, sessionsKept: 1 });
      assert.ok(Number(events[0].detail.payloads) >= 6, `the count of removed rows is recorded: ${events[0].detail.payloads}`);
    });

    test('the migration fills in the client of rows stored before it', async () => {
      // The table as it was before 0042, with rows as the code before it wrote them.
      await kysely().schema.dropIndex('oidc_payloads_client').execute();
      await kysely().schema.alterTable('oidc_payloads').dropColumn('client_id').execute();
      const row = (id: string, model: string, payload: object) => ({ tenant_id: 'demo', model, id, payload: JSON.stringify(payload), grant_id: null, user_code: null, uid: null, expires_at: Date.now() + 60_000, consumed_at: null });
      await (kysely() as any).insertInto('oidc_payloads').values([
        row('legacy-token', 'AccessToken', { kind: 'AccessToken', clientId: 'legacy-client' }),
        row('legacy-interaction', 'Interaction', { kind: 'Interaction', params: { client_id: 'legacy-client' } }),
        row('legacy-replay', 'ReplayDetection', { kind: 'ReplayDetection' }),
        row('legacy-session', 'Session', { kind: 'Session', authorizations: { 'legacy-client': {} } }),
      ]).execute();
      await buildMigrations({ secrets: server.services.database.secrets })['0042_oidc_payload_clients'].up(kysely());

      const filled = await kysely().selectFrom('oidc_payloads').select(['id', 'client_id']).where('id', 'like', 'legacy-%').orderBy('id').execute();
      assert.deepEqual(filled, [
        { id: 'legacy-interaction', client_id: 'legacy-client' },
        { id: 'legacy-replay', client_id: null },
        { id: 'legacy-session', client_id: null },
        { id: 'legacy-token', client_id: 'legacy-client' },
      ]);
    });
  });
}
