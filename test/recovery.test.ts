import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, freePort, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, signUpThroughRp, verifyIdToken } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { sealedColumn } from '../src/secrets/sealed-columns.js';
import { MAX_CODE_ATTEMPTS } from '../src/accounts/recovery-service.js';

/**
 * Account recovery from the outside: "Lost your passkey?" with an e-mailed code or a recovery
 * code, an administrator's link, a new passkey before anything else, old passkeys removed, and
 * what the ID token then says.
 */
const UNKNOWN_OR_SENT = /^If this address has an account, we sent a code to it\./;

/** The data of the mails queued to `to` with `template`, oldest first, opened as the mail worker opens them. */
async function mailsTo(server: TestServer, to: string, template: string): Promise<Array<Record<string, any>>> {
  const rows = await server.services.database.db.selectFrom('mail_outbox').selectAll()
    .where('recipient', '=', to).where('template', '=', template).orderBy('created_at').execute();
  return rows.map((row) => JSON.parse(server.services.database.secrets.open(row.data, sealedColumn.mailData(row.id))));
}

async function latestCode(server: TestServer, to: string): Promise<string> {
  const mails = await mailsTo(server, to, 'recovery-code');
  assert.ok(mails.length > 0, `no recovery code was queued for ${to}`);
  return mails.at(-1)!.code;
}

/** A browser on a new device (its own authenticator, nothing of the old one) at the sign-in page. */
async function lostDevice(server: TestServer, client: Client, tenant = 'demo') {
  const ua = new UserAgent(server.origin);
  const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, tenant));
  return { ua, base, authenticator: new SoftwareAuthenticator() };
}

async function askCode(ua: UserAgent, base: string, email: string) {
  return ua.postJson(`${base}/recovery/email`, { email });
}

/** Redeems, saves a new passkey, removes `remove` and returns the ID token's claims. */
async function completeRecovery(server: TestServer, client: Client, device: Awaited<ReturnType<typeof lostDevice>>, remove: 'all' | 'none') {
  const { ua, base, authenticator } = device;
  const page = await ua.get(`${base}/recovery`);
  assert.equal(page.status, 200, page.text);
  assert.match(page.text, /Save a new passkey/);
  const early = await ua.postJson(`${base}/recovery/finish`, { remove: [] });
  assert.equal(early.json().error, 'recovery_passkey_missing', 'nothing before the new passkey');
  const start = await ua.postJson(`${base}/recovery/passkey/options`, {});
  assert.equal(start.status, 200, start.text);
  const saved = await ua.postJson(`${base}/recovery/passkey/verify`, { challengeId: start.json().challengeId, response: authenticator.createCredential(start.json().options, server.origin) });
  assert.equal(saved.status, 200, saved.text);
  const cleanup = await ua.get(`${base}/recovery`);
  assert.match(cleanup.text, /Remove your old passkeys\?/);
  assert.match(cleanup.text, /<label for="old-[^"]+">Passkey \(device-bound passkey\), added \d{4}-\d\d-\d\d \d\d:\d\d, last used /, 'old passkeys by name and kind');
  const oldIds = [...cleanup.text.matchAll(/name="remove" value="([^"]+)"/g)].map((m) => m[1]!);
  const done = await ua.postJson(`${base}/recovery/finish`, { remove: remove === 'all' ? oldIds : [] });
  assert.equal(done.status, 200, done.text);
  const result = await finishAtRp(ua, done.json().redirectTo);
  const tokens = await exchangeCode(server, client, result.params.code);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return { claims: await verifyIdToken(server, client, tokens.body.id_token), oldIds };
}

for (const db of await databases()) {
  describe(`account recovery (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      // SMTP that never answers: mails stay in the outbox with their data, where the test reads the codes.
      server = await startTestServer(db, { env: { SMTP_URL: `smtp://127.0.0.1:${await freePort()}` } });
      client = await createClient(server);
    });
    after(() => server.close());

    test('by e-mailed code: a new passkey first, then the old ones removed, then the sign-in (amr otp, no acr); recorded and announced', async () => {
      const laptop = new SoftwareAuthenticator();
      const { claims: before } = await signUpThroughRp(server, client, 'grace@example.com', 'Grace Hopper', laptop);
      const device = await lostDevice(server, client);
      const sent = await askCode(device.ua, device.base, 'grace@example.com');
      assert.equal(sent.status, 200, sent.text);
      assert.match(sent.json().message, UNKNOWN_OR_SENT);
      const code = await latestCode(server, 'grace@example.com');
      assert.match(code, /^[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}$/);

      const wrong = await device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'grace@example.com', code: 'AAAA-AAAA' });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.json().error, 'recovery_code_invalid');
      const right = await device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'grace@example.com', code: code.toLowerCase().replace('-', ' ') });
      assert.equal(right.status, 200, right.text);
      const reused = await device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'grace@example.com', code });
      assert.equal(reused.status, 400, 'a code works once');

      const { claims, oldIds } = await completeRecovery(server, client, device, 'all');
      assert.equal(claims.sub, before.sub);
      assert.equal(claims.acr, undefined, 'a recovered sign-in is not phishing-resistant');
      assert.deepEqual(claims.amr, ['otp', 'hwk', 'user', 'mfa']);
      assert.deepEqual(oldIds, [...laptop.credentials.keys()]);
      const left = await server.services.passkeys.listPasskeys('demo', before.sub!);
      assert.deepEqual(left.map((p) => p.id), [...device.authenticator.credentials.keys()], 'only the new passkey is left');

      const notices = await mailsTo(server, 'grace@example.com', 'security-notice');
      assert.equal(notices.length, 1);
      assert.equal(notices[0]!.event, 'recovery-used');
      const [record] = await server.services.recovery.listRecoveries('demo', before.sub!);
      assert.equal(record!.method, 'email_code');
      assert.ok(record!.finishedAt);
      assert.equal(record!.credentialId, [...device.authenticator.credentials.keys()][0]);
      assert.equal((await device.ua.get(`${device.base}/recovery`)).status, 400, 'a finished recovery cannot be used again');
    });

    test('an unknown address gets the same answer, no mail, and the same refusal of any code', async () => {
      await signUpThroughRp(server, client, 'ada@example.com', 'Ada Lovelace');
      const device = await lostDevice(server, client);
      const known = await askCode(device.ua, device.base, 'ada@example.com');
      const unknown = await askCode(device.ua, device.base, 'nobody@example.com');
      assert.equal(unknown.status, known.status);
      assert.deepEqual(unknown.json(), known.json());
      assert.equal((await mailsTo(server, 'nobody@example.com', 'recovery-code')).length, 0);
      const guess = await device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'nobody@example.com', code: 'ABCD-EFGH' });
      const wrong = await device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'ada@example.com', code: 'ABCD-EFGH' });
      assert.deepEqual([guess.status, guess.json()], [wrong.status, wrong.json()]);
    });

    test('a code expires, is bound to its sign-in page, allows a few tries only, and a newer code replaces it', async () => {
      await signUpThroughRp(server, client, 'edsger@example.com', 'Edsger Dijkstra');
      const device = await lostDevice(server, client);
      const verify = (code: string, ua = device.ua, base = device.base) => ua.postJson(`${base}/recovery/email/verify`, { email: 'edsger@example.com', code });

      await askCode(device.ua, device.base, 'edsger@example.com');
      const first = await latestCode(server, 'edsger@example.com');
      const elsewhere = await lostDevice(server, client);
      assert.equal((await verify(first, elsewhere.ua, elsewhere.base)).status, 400, 'another sign-in page cannot use it');
      await askCode(device.ua, device.base, 'edsger@example.com');
      const second = await latestCode(server, 'edsger@example.com');
      assert.equal((await verify(first)).json().error, 'recovery_code_invalid', 'the older code no longer works');

      await server.services.database.db.updateTable('recovery_requests').set({ expires_at: Date.now() - 1 }).where('kind', '=', 'email').execute();
      assert.equal((await verify(second)).json().error, 'recovery_code_invalid', 'an expired code is refused');

      await askCode(device.ua, device.base, 'edsger@example.com');
      const third = await latestCode(server, 'edsger@example.com');
      for (let i = 0; i < MAX_CODE_ATTEMPTS; i++) assert.equal((await verify('2222-2222')).status, 400);
      const late = await verify(third);
      assert.equal(late.status, 400);
      assert.equal(late.json().error, 'recovery_code_spent', 'after the tries are used up even the right code fails');
    });

    test('16 concurrent redemptions of one code: exactly one opens a recovery', async () => {
      const { claims } = await signUpThroughRp(server, client, 'barbara@example.com', 'Barbara Liskov');
      const device = await lostDevice(server, client);
      await askCode(device.ua, device.base, 'barbara@example.com');
      const code = await latestCode(server, 'barbara@example.com');
      const answers = await Promise.all(Array.from({ length: 16 }, () =>
        device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'barbara@example.com', code })));
      assert.equal(answers.filter((a) => a.status === 200).length, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
      assert.ok(answers.every((a) => a.status === 200 || a.status === 400));
      assert.equal((await server.services.recovery.listRecoveries('demo', claims.sub!)).length, 1);

      // The same straight at the service, without HTTP's own spread in time between the requests.
      const tenant = await server.services.tenants.requireTenant('demo');
      const uid = device.base.split('/').at(-1)!;
      await askCode(device.ua, device.base, 'barbara@example.com');
      const next = await latestCode(server, 'barbara@example.com');
      const outcomes = await Promise.allSettled(Array.from({ length: 16 }, () =>
        server.services.recovery.redeemEmailCode(tenant, uid, { email: 'barbara@example.com', code: next }, { ip: '192.0.2.1', userAgent: '' })));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      assert.equal((await server.services.recovery.listRecoveries('demo', claims.sub!)).length, 2);
    });

    test('recovery codes: made on the account page, shown once, each works once, new ones replace all', async () => {
      const laptop = new SoftwareAuthenticator();
      const { claims } = await signUpThroughRp(server, client, 'alan@example.com', 'Alan Turing', laptop);
      const account = `${server.origin}/demo/account`;
      const ua = new UserAgent(server.origin);
      assert.equal((await ua.postJson(`${account}/recovery-codes`, {})).status, 401, 'only for a signed-in person');
      const start = (await ua.postJson(`${account}/signin/options`, {})).json();
      assert.equal((await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: laptop.getAssertion(start.options, server.origin) })).status, 200);
      assert.match((await ua.get(account)).text, /Create recovery codes/);
      const made = await ua.postJson(`${account}/recovery-codes`, {});
      assert.equal(made.status, 200, made.text);
      const codes: string[] = made.json().codes;
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      const page = (await ua.get(account)).text;
      assert.match(page, /10 of 10 codes left/);
      for (const code of codes) assert.ok(!page.includes(code), 'codes are never shown again');
      const stored = await server.services.database.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', claims.sub!).execute();
      for (const { code_hash } of stored) assert.ok(!codes.some((c) => code_hash.includes(c.replace('-', ''))));

      const useCode = async (code: string) => {
        const device = await lostDevice(server, client);
        return { device, answer: await device.ua.postJson(`${device.base}/recovery/code`, { email: 'alan@example.com', code }) };
      };
      const first = await useCode(codes[0]!);
      assert.equal(first.answer.status, 200, first.answer.text);
      const { claims: recovered } = await completeRecovery(server, client, first.device, 'none');
      assert.equal(recovered.sub, claims.sub);
      assert.deepEqual(recovered.amr, ['otp', 'hwk', 'user', 'mfa']);
      assert.equal(recovered.acr, undefined);
      assert.equal((await server.services.passkeys.listPasskeys('demo', claims.sub!)).length, 2, 'old passkeys kept when none were chosen');
      assert.equal((await useCode(codes[0]!)).answer.json().error, 'recovery_code_invalid', 'a used code fails');
      assert.equal((await useCode(codes[1]!)).answer.status, 200);
      assert.match((await ua.get(account)).text, /8 of 10 codes left/);

      const replaced = (await ua.postJson(`${account}/recovery-codes`, {})).json().codes as string[];
      assert.equal((await useCode(codes[2]!)).answer.status, 400, 'new codes replace all the old ones');
      assert.equal((await useCode(replaced[0]!)).answer.status, 200);
      const stranger = await lostDevice(server, client);
      const unknown = await stranger.ua.postJson(`${stranger.base}/recovery/code`, { email: 'nobody@example.com', code: replaced[1]! });
      assert.equal(unknown.json().error, 'recovery_code_invalid', 'the same answer for an address without an account');
      assert.equal((await mailsTo(server, 'alan@example.com', 'security-notice')).filter((m) => m.event === 'recovery-used').length, 3);
    });

    test("an administrator's link works once, within 15 minutes, and leads to the new-passkey step", async () => {
      const { claims } = await signUpThroughRp(server, client, 'radia@example.com', 'Radia Perlman');
      const { link } = await server.services.recovery.createAdminLink('demo', 'radia@example.com');
      const url = new URL(link);
      assert.equal(url.pathname, '/demo/recovery/link');
      const token = new URLSearchParams(url.hash.slice(1)).get('token')!;
      const ua = new UserAgent(server.origin);
      assert.match((await ua.get(url.href)).text, /Get back into your account/);
      const opened = await ua.postJson(`${server.origin}/demo/recovery/link`, { token });
      assert.equal(opened.status, 200, opened.text);
      assert.equal(opened.json().redirectTo, '/demo/recovery');
      const again = await new UserAgent(server.origin).postJson(`${server.origin}/demo/recovery/link`, { token });
      assert.equal(again.json().error, 'recovery_link_invalid', 'single use');
      assert.equal((await new UserAgent(server.origin).get(`${server.origin}/demo/recovery`)).status, 400, 'another browser has no recovery');

      assert.match((await ua.get(`${server.origin}/demo/recovery`)).text, /Save a new passkey/);
      const authenticator = new SoftwareAuthenticator();
      const start = (await ua.postJson(`${server.origin}/demo/recovery/passkey/options`, {})).json();
      assert.equal((await ua.postJson(`${server.origin}/demo/recovery/passkey/verify`, { challengeId: start.challengeId, response: authenticator.createCredential(start.options, server.origin) })).status, 200);
      const done = await ua.postJson(`${server.origin}/demo/recovery/finish`, { remove: [] });
      assert.equal(done.json().redirectTo, '/demo/recovery/done');
      assert.equal((await server.services.passkeys.listPasskeys('demo', claims.sub!)).length, 2);
      assert.equal((await server.services.recovery.listRecoveries('demo', claims.sub!))[0]!.method, 'admin_link');

      const late = await server.services.recovery.createAdminLink('demo', 'radia@example.com');
      await server.services.database.db.updateTable('recovery_requests').set({ expires_at: Date.now() - 1 }).where('kind', '=', 'link').execute();
      const expired = await new UserAgent(server.origin).postJson(`${server.origin}/demo/recovery/link`, { token: new URLSearchParams(new URL(late.link).hash.slice(1)).get('token') });
      assert.equal(expired.json().error, 'recovery_link_invalid', 'expired');
    });

    test('a notice that cannot be queued does not stop the recovery', async () => {
      await signUpThroughRp(server, client, 'frances@example.com', 'Frances Allen');
      const device = await lostDevice(server, client);
      await askCode(device.ua, device.base, 'frances@example.com');
      const code = await latestCode(server, 'frances@example.com');
      const mail = server.services.mail;
      const enqueue = mail.enqueue;
      mail.enqueue = async () => { throw new Error('outbox unavailable'); };
      try {
        const answer = await device.ua.postJson(`${device.base}/recovery/email/verify`, { email: 'frances@example.com', code });
        assert.equal(answer.status, 200, answer.text);
      } finally {
        mail.enqueue = enqueue;
      }
    });

    test('code mails are rate limited for known and unknown addresses alike', async () => {
      await signUpThroughRp(server, client, 'john@example.com', 'John Backus');
      const device = await lostDevice(server, client);
      for (const email of ['john@example.com', 'nobody-else@example.com']) {
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await askCode(device.ua, device.base, email)).status);
        assert.deepEqual(statuses, [200, 200, 200, 429], email);
      }
      assert.equal((await mailsTo(server, 'john@example.com', 'recovery-code')).length, 3);
    });

    test('a tenant without e-mail recovery offers recovery codes only, and says to contact the administrator', async () => {
      await server.services.tenants.createTenant('quiet', 'Quiet Corp');
      const quietClient = await createClient(server, { tenantId: 'quiet' });
      assert.equal((await server.services.tenants.requireTenant('quiet')).emailRecovery, true, 'on by default');
      await server.services.tenants.setEmailRecovery('quiet', false);
      const ua = new UserAgent(server.origin);
      const { base, page } = await openSignInPage(ua, authorizeUrl(server, quietClient, {}, 'quiet'));
      assert.match(page.text, /Lost your passkey\?/);
      assert.doesNotMatch(page.text, /id="recovery-email-form"/);
      assert.match(page.text, /contact your administrator/);
      assert.match(page.text, /id="backup-form"/);
      const refused = await askCode(ua, base, 'someone@example.com');
      assert.equal(refused.status, 403);
      assert.equal(refused.json().error, 'email_recovery_off');
      assert.equal((await ua.postJson(`${base}/recovery/email/verify`, { email: 'someone@example.com', code: 'ABCD-EFGH' })).status, 403);
    });
  });
}
