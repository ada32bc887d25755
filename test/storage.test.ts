import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { SqlAdapter, storedId } from '../src/oidc/adapter.js';
import { ClientRepository } from '../src/storage/repositories/clients.js';
import { hashClientSecret } from '../src/secrets/client-secret.js';
import { UserDeviceRepository } from '../src/storage/repositories/user-devices.js';
import { RateLimitRepository } from '../src/storage/repositories/rate-limits.js';
import { withWriteBatch } from '../src/storage/write-batch.js';

/** oidc-provider's storage contract and the challenge store, on each database. */
for (const db of await databases()) {
  describe(`storage (${db})`, () => {
    let server: TestServer;
    before(async () => { server = await startTestServer(db); });
    after(() => server.close());

    const adapter = (model: string, tenant = 'demo') => {
      const { db: kysely } = server.services.database;
      return new SqlAdapter(kysely, new ClientRepository(kysely, server.services.database.secrets), tenant, model);
    };

    test('upsert, find, findByUid, consume, destroy, expiry', async () => {
      const sessions = adapter('Session');
      await sessions.upsert('s1', { uid: 'u1', accountId: 'a', kind: 'Session' } as never, 60);
      assert.equal((await sessions.find('s1'))?.accountId, 'a');
      assert.equal((await sessions.findByUid('u1'))?.accountId, 'a');
      await sessions.upsert('s1', { uid: 'u1', accountId: 'b', kind: 'Session' } as never, 60);
      assert.equal((await sessions.find('s1'))?.accountId, 'b', 'upsert replaces');

      const codes = adapter('AuthorizationCode');
      await codes.upsert('c1', { grantId: 'g1', kind: 'AuthorizationCode' } as never, 60);
      assert.equal((await codes.find('c1'))?.consumed, undefined);
      await codes.consume('c1');
      assert.ok((await codes.find('c1'))?.consumed, 'consumed is reported');

      await codes.upsert('old', { kind: 'AuthorizationCode' } as never, 60);
      await server.services.database.db.updateTable('oidc_payloads').set({ expires_at: Date.now() - 1 }).where('id', '=', storedId('old')).execute();
      assert.equal(await codes.find('old'), undefined, 'expired rows are invisible');

      await sessions.destroy('s1');
      assert.equal(await sessions.find('s1'), undefined);
    });

    test('revokeByGrantId removes every token of the grant, in this tenant only', async () => {
      await server.services.tenants.createTenant(`other${db}`, 'Other');
      const access = adapter('AccessToken');
      const refresh = adapter('RefreshToken');
      const foreign = adapter('AccessToken', `other${db}`);
      await access.upsert('at1', { grantId: 'g2' } as never, 60);
      await refresh.upsert('rt1', { grantId: 'g2' } as never, 60);
      await foreign.upsert('at1', { grantId: 'g2' } as never, 60);
      await access.revokeByGrantId('g2');
      assert.equal(await access.find('at1'), undefined);
      assert.equal(await refresh.find('rt1'), undefined);
      assert.ok(await foreign.find('at1'), 'another tenant with the same ids is untouched');
    });

    test('in a write batch the adapter reads its own writes, and they are committed at the end in one go', async () => {
      const { db: kysely } = server.services.database;
      const sessions = adapter('Session');
      const interactions = adapter('Interaction');
      const stored = async (id: string) => (await kysely.selectFrom('oidc_payloads').select('payload').where('id', '=', storedId(id)).executeTakeFirst())?.payload;
      await interactions.upsert('i-batched', { uid: 'iu', kind: 'Interaction' } as never, 60);
      await withWriteBatch(kysely, async () => {
        await sessions.upsert('s-batched', { uid: 'su', accountId: 'a', kind: 'Session' } as never, 60);
        await interactions.destroy('i-batched');
        assert.equal(await stored('s-batched'), undefined, 'not written yet');
        assert.equal((await sessions.find('s-batched'))?.accountId, 'a', 'read back by id');
        assert.equal((await sessions.findByUid('su'))?.accountId, 'a', 'and by uid');
        assert.equal(await interactions.find('i-batched'), undefined, 'a deletion is seen at once');
        assert.equal(await interactions.findByUid('iu'), undefined, 'also by uid');
        await sessions.upsert('s-batched', { uid: 'su', accountId: 'b', kind: 'Session' } as never, 60);
        assert.equal((await sessions.find('s-batched'))?.accountId, 'b', 'the last write wins');
      });
      assert.equal(JSON.parse((await stored('s-batched'))!).accountId, 'b', 'committed at the end');
      assert.equal(await stored('i-batched'), undefined);
    });

    test('in a write batch a consume commits the writes before it, and a failed request keeps what it wrote', async () => {
      const { db: kysely } = server.services.database;
      const codes = adapter('AuthorizationCode');
      await withWriteBatch(kysely, async () => {
        await codes.upsert('c-batched', { grantId: 'g-batched', kind: 'AuthorizationCode' } as never, 60);
        await codes.consume('c-batched');
        assert.ok((await kysely.selectFrom('oidc_payloads').select('consumed_at').where('id', '=', storedId('c-batched')).executeTakeFirst())?.consumed_at);
      });
      await assert.rejects(withWriteBatch(kysely, async () => {
        await codes.upsert('c-failed', { kind: 'AuthorizationCode' } as never, 60);
        throw new Error('the request failed');
      }), /the request failed/);
      assert.ok(await codes.find('c-failed'), 'written as it would have been without a batch');
    });

    test('clients are read from the clients table', async () => {
      const client = await server.services.tenants.createClient({ tenantId: 'demo', redirectUris: ['https://rp.example.com/cb'], requirePkce: true });
      const metadata = await adapter('Client').find(client.clientId);
      assert.equal(metadata?.client_secret, hashClientSecret(client.clientSecret), 'only the hash is kept');
      assert.deepEqual(metadata?.redirect_uris, ['https://rp.example.com/cb']);
      assert.equal(metadata?.sesame_require_pkce, true);
      assert.equal(await adapter('Client', `other${db}`).find(client.clientId), undefined, 'clients are per tenant');
    });

    test('a challenge is consumed once, even by concurrent attempts', async () => {
      const scope = { tenantId: 'demo', interactionUid: 'i1', purpose: 'authentication' as const };
      const { challengeId } = await server.services.challenges.issue(scope, {});
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => server.services.challenges.consume(challengeId, scope)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const consumed = results.find((r) => r.status === 'fulfilled')!.value;
      assert.deepEqual({ ...consumed, expiresAt: 0 }, { id: challengeId, ...scope, challenge: consumed.challenge, payload: {}, expiresAt: 0 }, 'the consumed challenge is returned');
    });

    test('a browser is new when unseen for 90 days; one seen within a day is not written again', async () => {
      const devices = new UserDeviceRepository(server.services.database.db);
      const lastSeen = async () => Number((await server.services.database.db.selectFrom('user_devices').select('last_seen_at')
        .where('user_id', '=', 'device-user').executeTakeFirstOrThrow()).last_seen_at);
      const day = 86_400_000;
      const t0 = Date.now();
      const seenAt = (t: number) => devices.recordSignIn('demo', 'device-user', 'firefox-linux', t, t - 90 * day);
      assert.equal(await seenAt(t0), true, 'first seen: new');
      assert.equal(await seenAt(t0 + 3_600_000), false, 'an hour later: known');
      assert.equal(await lastSeen(), t0, 'and not written again within the day');
      assert.equal(await seenAt(t0 + 2 * day), false, 'two days later: known');
      assert.equal(await lastSeen(), t0 + 2 * day, 'and the day is recorded');
      assert.equal(await seenAt(t0 + 93 * day), true, 'unseen for 91 days: new again');
      assert.equal(await seenAt(t0 + 93 * day), false);
    });

    test('a rate-limit hit runs the same SQL text at any time (a prepared statement, not a new one each time)', async () => {
      const { db: kysely } = server.services.database;
      const texts = new Set<string>();
      const watched = kysely.withPlugin({
        transformQuery: (args) => {
          texts.add(kysely.getExecutor().compileQuery(args.node, args.queryId).sql);
          return args.node;
        },
        transformResult: async (args) => args.result,
      });
      const counts = new RateLimitRepository(watched);
      const t0 = Date.now();
      assert.equal(await counts.hit('test:same-text', 60_000, t0), 1);
      assert.equal(await counts.hit('test:same-text', 60_000, t0 + 1_000), 2);
      assert.equal(await counts.hit('test:same-text', 60_000, t0 + 61_000), 1, 'a new window starts over');
      assert.equal(await counts.hit('test:same-text', 60_000, t0 + 62_000), 2, 'from the new window\'s start');
      assert.equal(texts.size, 1, [...texts].join('\n'));
    });

    test('rate-limit hits on several keys in one statement count each key on its own', async () => {
      const counts = new RateLimitRepository(server.services.database.db);
      const t0 = Date.now();
      assert.deepEqual(await counts.hitAll(['test:a', 'test:b'], 60_000, t0), [1, 1]);
      assert.deepEqual(await counts.hitAll(['test:b', 'test:a'], 60_000, t0 + 1), [2, 2], 'answered in the order asked');
      assert.equal(await counts.hit('test:a', 60_000, t0 + 2), 3);
      assert.deepEqual(await counts.hitAll(['test:a', 'test:c'], 60_000, t0 + 3), [4, 1]);
      assert.deepEqual(await counts.hitAll(['test:a', 'test:b'], 60_000, t0 + 61_000), [1, 1], 'a new window for each');
    });
  });
}
