import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient, PassportError } from '../sdk/passport-client.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent, type UaResponse } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, issuer, openSignInPage, signUp } from './support/flow.js';
import { startPushService, type TestPushService } from './support/push-service.js';
import { desktopStarts } from './support/crossdevice.js';
import { whileRowLocked } from './support/row-lock.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Every single-use or limit rule, attacked with 16 simultaneous requests (as the attack run on
 * PostgreSQL did). On SQLite requests interleave only across awaits; the rules must hold on both.
 */
const ATTEMPTS = 16;

const burst = <T>(fn: (i: number) => Promise<T>) => Promise.all(Array.from({ length: ATTEMPTS }, (_, i) => fn(i)));
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const count = <T>(items: T[], predicate: (item: T) => boolean) => items.filter(predicate).length;
const errorOf = (r: UaResponse) => (r.status >= 400 ? r.json().error : undefined);

/** A browser signed in on the account page with `authenticator`. */
async function accountSession(server: TestServer, authenticator: SoftwareAuthenticator): Promise<UserAgent> {
  const ua = new UserAgent(server.origin);
  const account = `${server.origin}/demo/account`;
  await ua.get(account);
  const start = (await ua.postJson(`${account}/signin/options`, {})).json();
  const signedIn = await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
  assert.equal(signedIn.status, 200, signedIn.text);
  return ua;
}

async function addPasskey(server: TestServer, ua: UserAgent, authenticator: SoftwareAuthenticator): Promise<void> {
  const account = `${server.origin}/demo/account`;
  const add = (await ua.postJson(`${account}/passkeys/options`, {})).json();
  const added = await ua.postJson(`${account}/passkeys/verify`, { challengeId: add.challengeId, response: authenticator.createCredential(add.options, server.origin) });
  assert.equal(added.status, 200, added.text);
}

/** Signs up through the RP and returns the authorization code, not yet redeemed. */
async function freshCode(server: TestServer, client: Client, email: string, params: Record<string, string> = {}) {
  const ua = new UserAgent(server.origin);
  const authenticator = new SoftwareAuthenticator();
  const { base } = await openSignInPage(ua, authorizeUrl(server, client, params));
  const { params: response } = await finishAtRp(ua, await signUp(ua, authenticator, base, email, 'Racer'));
  assert.ok(response.code, JSON.stringify(response));
  return { code: response.code, authenticator };
}

const userinfo = (server: TestServer, accessToken: string) => fetch(`${issuer(server)}/me`, { headers: { authorization: `Bearer ${accessToken}` } });

for (const db of await databases()) {
  describe(`single use and limits under concurrency (${db})`, () => {
    let server: TestServer;
    let client: Client;
    let pushService: TestPushService;

    before(async () => {
      pushService = await startPushService();
      server = await startTestServer(db, pushService.sesameOptions);
      client = await createClient(server);
    });
    after(async () => {
      await server.close();
      await pushService.close();
    });

    test('an authorization code is redeemed once; the replay revokes what it issued', async () => {
      const { code } = await freshCode(server, client, `code-${db}@example.com`);
      const codeRow = { table: 'oidc_payloads', where: "model = 'AuthorizationCode' and id in ($1, $2)", params: [code, sha256(code)] };
      const results = await whileRowLocked(db, server, codeRow, 2, () => burst(() => exchangeCode(server, client, code)));
      const won = results.filter((r) => r.status === 200);
      assert.equal(won.length, 1, `exactly one redemption succeeds: ${results.map((r) => r.status).join(',')}`);
      assert.ok(results.every((r) => r.status === 200 || (r.status === 400 && r.body.error === 'invalid_grant')), JSON.stringify(results.filter((r) => r.status !== 200 && r.status !== 400)));
      assert.equal((await userinfo(server, won[0].body.access_token)).status, 401, 'the replay revoked the access token it issued');
    });

    /** A person with an account and a Passport phone that receives pushes. */
    async function personWithPhone(label: string) {
      const laptop = new SoftwareAuthenticator();
      const email = `${label}-${db}@example.com`;
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await signUp(ua, laptop, base, email, 'Pushed');
      const phone = new PassportClient(new SoftwareAuthenticator());
      const link = (await (await accountSession(server, laptop)).postJson(`${server.origin}/demo/account/passport/link`, {})).json().link;
      await phone.enrolWithLink(link, 'Phone', pushService.subscribe());
      const user = (await server.services.passkeys.findUserByEmail('demo', email))!;
      const pushesSent = async () => Number((await server.services.database.db.selectFrom('crossdevice_events').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', user.id).where('type', '=', 'push_requested').executeTakeFirstOrThrow()).n);
      return { email, phone, user, pushesSent };
    }
    const pushBurst = async (email: string) => (await burst(() => desktopStarts(server, client, { email, push: true }))).map((r) => r.started);

    test('the push limit (3 per user per minute) holds for simultaneous requests', async () => {
      const { email, pushesSent } = await personWithPhone('push');
      const statuses = (await pushBurst(email)).map((r) => r.status);
      assert.equal(count(statuses, (s) => s === 200), 3, `three pushes go out: ${statuses.join(',')}`);
      assert.equal(count(statuses, (s) => s === 429), ATTEMPTS - 3);
      assert.equal(await pushesSent(), 3);
    });

    test('the daily push cap (PUSH_LIMIT_PER_DAY, 10) holds for simultaneous requests', async () => {
      const { email, user, pushesSent } = await personWithPhone('daily');
      // Eight pushes earlier today (two hours ago, outside the per-minute window).
      const earlier = Date.now() - 2 * 3600_000;
      for (let i = 0; i < 8; i += 1) {
        await server.services.crossDeviceRequests.recordEvent({ tenantId: 'demo', requestId: `earlier-${i}`, userId: user.id, type: 'push_requested', at: earlier + i });
      }
      const results = await pushBurst(email);
      const statuses = results.map((r) => r.status);
      assert.equal(count(statuses, (s) => s === 200), 2, `two more pushes go out: ${statuses.join(',')}`);
      assert.equal(count(statuses, (s) => s === 429), ATTEMPTS - 2);
      assert.equal(await pushesSent(), 10);
      const refused = results.find((r) => r.status === 429)!;
      assert.match(refused.json().message, /Many sign-in requests were sent to your phone today/);
      // Room again when the oldest of the ten is 24 hours old: in 22 hours.
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter > 21 * 3600 && retryAfter <= 22 * 3600, String(retryAfter));
    });

    for (const refusal of ['deny', 'wrong number'] as const) {
      test(`after a ${refusal} on the phone, no push for 15 minutes, however many are asked for at once`, async () => {
        const { email, phone, user, pushesSent } = await personWithPhone(`refused-${refusal.replace(' ', '-')}`);
        const first = await desktopStarts(server, client, { email, push: true });
        assert.equal(first.started.status, 200, first.started.text);
        if (refusal === 'deny') {
          await phone.deny(first.request.link);
        } else {
          const wrong = (await phone.details(first.request.link)).choices.find((n) => n !== first.request.number)!;
          await assert.rejects(phone.approve(first.request.link, wrong), (e: PassportError) => e.code === 'wrong_number');
        }
        const results = await pushBurst(email);
        assert.deepEqual(results.map((r) => r.status), Array(ATTEMPTS).fill(429));
        assert.equal(results[0].json().message, 'The phone\'s owner turned down a recent request; try again later or use the QR code.');
        const retryAfter = Number(results[0].headers.get('retry-after'));
        assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, String(retryAfter));
        assert.equal(await pushesSent(), 1, 'only the push that was turned down');
        assert.equal((await desktopStarts(server, client, { email })).started.status, 200, 'the QR code still works');

        // Fifteen minutes later pushes go out again.
        await server.services.database.db.updateTable('crossdevice_events').set({ at: Date.now() - 15 * 60_000 - 1 })
          .where('user_id', '=', user.id).where('type', 'in', ['denied', 'wrong_number']).execute();
        assert.equal((await desktopStarts(server, client, { email, push: true })).started.status, 200);
      });
    }

    test('simultaneous removals never remove the last passkey', async () => {
      const first = new SoftwareAuthenticator();
      const ua0 = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua0, authorizeUrl(server, client));
      await signUp(ua0, first, base, `keys2-${db}@example.com`, 'Keys');
      const ua = await accountSession(server, first);
      const second = new SoftwareAuthenticator();
      const third = new SoftwareAuthenticator();
      await addPasskey(server, ua, second);
      await addPasskey(server, ua, third);
      const ids = [first, second, third].map((a) => [...a.credentials.keys()][0]);

      const results = await burst((i) => ua.postJson(`${server.origin}/demo/account/passkeys/remove`, { credentialId: ids[i % ids.length] }));
      const user = await server.services.passkeys.findUserByEmail('demo', `keys2-${db}@example.com`);
      const left = await server.services.passkeys.listPasskeys('demo', user!.id);
      assert.equal(left.length, 1, 'exactly one passkey is left');
      assert.equal(count(results, (r) => r.status === 200), 2, results.map((r) => `${r.status} ${errorOf(r)}`).join(','));
      assert.ok(results.every((r) => r.status === 200 || ['last_credential', 'unknown_credential'].includes(errorOf(r))));
    });

    test('a Passport enrolment link enrols one phone, once', async () => {
      const laptop = new SoftwareAuthenticator();
      const email = `enrol-${db}@example.com`;
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await signUp(ua, laptop, base, email, 'Enrolling');
      const link = (await (await accountSession(server, laptop)).postJson(`${server.origin}/demo/account/passport/link`, {})).json().link;

      const results = await Promise.allSettled(Array.from({ length: ATTEMPTS }, (_, i) => new PassportClient(new SoftwareAuthenticator()).enrolWithLink(link, `Phone ${i}`)));
      assert.equal(count(results, (r) => r.status === 'fulfilled'), 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PassportError && r.reason.status === 401, String(r.reason));
      const user = await server.services.passkeys.findUserByEmail('demo', email);
      assert.equal((await server.services.passport.listDevices('demo', user!.id)).length, 1);
      assert.equal((await server.services.passkeys.listPasskeys('demo', user!.id)).length, 2, 'one passkey from sign-up, one from the phone');
    });

    test('a WebAuthn challenge answers one sign-in', async () => {
      const authenticator = new SoftwareAuthenticator();
      const email = `challenge-${db}@example.com`;
      const ua = new UserAgent(server.origin);
      await signUp(ua, authenticator, (await openSignInPage(ua, authorizeUrl(server, client))).base, email, 'Challenged');
      const browser = new UserAgent(server.origin);
      const { base } = await openSignInPage(browser, authorizeUrl(server, client));
      const start = (await browser.postJson(`${base}/signin/options`, { email })).json();
      const response = authenticator.getAssertion(start.options, server.origin);
      const results = await burst(() => browser.postJson(`${base}/signin/verify`, { challengeId: start.challengeId, response }));
      assert.equal(count(results, (r) => r.status === 200), 1, results.map((r) => `${r.status} ${errorOf(r)}`).join(','));
      assert.ok(results.every((r) => r.status === 200 || errorOf(r) === 'challenge_invalid'));
    });

    test('a cross-device approval completes one sign-in', async () => {
      const phoneKey = new SoftwareAuthenticator({ synced: true });
      const ua0 = new UserAgent(server.origin);
      await signUp(ua0, phoneKey, (await openSignInPage(ua0, authorizeUrl(server, client))).base, `xd-${db}@example.com`, 'Crossing');
      const { ua, base, request } = await desktopStarts(server, client);
      await new PassportClient(phoneKey).approve(request.link, request.number);
      const results = await burst(() => ua.postJson(`${base}/crossdevice/${request.id}/complete`, {}));
      assert.equal(count(results, (r) => r.status === 200), 1, results.map((r) => `${r.status} ${errorOf(r)}`).join(','));
      assert.ok(results.every((r) => r.status === 200 || r.status === 409));
      const events = (await server.services.crossDeviceRequests.eventsFor('demo', request.id)).map((e) => e.type);
      assert.equal(count(events, (e) => e === 'completed'), 1);
    });

    test('the same passkey in two tabs at once: the loser of the counter race is told so plainly', async () => {
      const authenticator = new SoftwareAuthenticator();
      const email = `tabs-${db}@example.com`;
      const ua0 = new UserAgent(server.origin);
      await signUp(ua0, authenticator, (await openSignInPage(ua0, authorizeUrl(server, client))).base, email, 'Two Tabs');
      const tabs = await Promise.all([0, 1].map(async () => {
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server, client));
        const start = (await ua.postJson(`${base}/signin/options`, { email })).json();
        return { ua, base, challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) };
      }));
      const credentialId = [...authenticator.credentials.keys()][0];
      const results = await whileRowLocked(db, server, { table: 'credentials', where: 'id = $1', params: [credentialId] }, 2, () =>
        Promise.all(tabs.map((t) => t.ua.postJson(`${t.base}/signin/verify`, { challengeId: t.challengeId, response: t.response }))));

      const outcomes = results.map((r) => `${r.status} ${errorOf(r) ?? ''}`);
      assert.ok(results.some((r) => r.status === 200), outcomes.join(','));
      assert.ok(!outcomes.some((o) => o.includes('replayed')), outcomes.join(','));
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 409, outcomes.join(','));
        assert.deepEqual(r.json(), { error: 'passkey_in_use', message: 'This passkey was just used in another window. Please try again.' });
      }
      if (db === 'postgres') assert.deepEqual(results.map((r) => r.status).sort(), [200, 409], 'both read the counter before either wrote it');

      const replay = await tabs[0].ua.postJson(`${tabs[0].base}/signin/verify`, { challengeId: tabs[0].challengeId, response: tabs[0].response });
      assert.equal(replay.status, 400, 'the very same assertion again is still refused');
      assert.equal(errorOf(replay), 'challenge_invalid');
    });
  });
}

