import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient } from '../sdk/passport-client.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, signIn, signUp, verifyIdToken } from './support/flow.js';
import { devMails, verificationMail } from './support/mailbox.js';
import type { Client } from '../src/storage/repositories/clients.js';

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** Sign-up proves the e-mail address with a mailed code (or its link), and security mails tell the person what changed. */
for (const db of await databases()) {
  describe(`e-mail verification (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    const signUpPage = async (tenant = 'demo', rp = client) => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, rp, {}, tenant));
      return { ua, base };
    };
    const sendCode = async (ua: UserAgent, base: string, email: string) => {
      const since = Date.now() - 1;
      const sent = await ua.postJson(`${base}/signup/email`, { email, displayName: 'Test Person' });
      assert.equal(sent.status, 200, sent.text);
      return { verificationId: sent.json().verificationId as string, replaces: sent.json().replacesUnconfirmedAccount as boolean, ...(await verificationMail(server.origin, email, since)) };
    };
    const claimsOf = async (ua: UserAgent, redirectTo: string, rp = client, tenant = 'demo') => {
      const result = await finishAtRp(ua, redirectTo);
      return verifyIdToken(server, rp, (await exchangeCode(server, rp, result.params.code, { tenant })).body.id_token, tenant);
    };
    const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const tryCode = async (ua: UserAgent, base: string, verificationId: string, code: string) => {
      const answer = await ua.postJson(`${base}/signup/code`, { verificationId, code });
      return answer.status === 200 ? 'ok' : answer.json().error as string;
    };
    const accountSession = async (authenticator: SoftwareAuthenticator, tenant = 'demo') => {
      const ua = new UserAgent(server.origin);
      const account = `${server.origin}/${tenant}/account`;
      await ua.get(account);
      const start = (await ua.postJson(`${account}/signin/options`, {})).json();
      const signedIn = await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
      assert.equal(signedIn.status, 200, signedIn.text);
      return { ua, account };
    };

    test('the code proves the address; only then is the passkey made, and email_verified is true', async () => {
      const { ua, base } = await signUpPage();
      const refused = await ua.postJson(`${base}/signup/options`, { email: 'ada@example.com', displayName: 'Ada' });
      assert.equal(refused.json().error, 'email_not_verified', 'no passkey before the address is proved');
      const { verificationId, code } = await sendCode(ua, base, 'ada@example.com');
      const row = await server.services.database.db.selectFrom('email_verifications').selectAll().where('id', '=', verificationId).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(code), 'the code is not stored in the clear');
      assert.equal((await ua.get(`${base}/signup/email/${verificationId}`)).json().verified, false);
      assert.equal(await tryCode(ua, base, verificationId, code), 'ok');
      assert.equal((await ua.get(`${base}/signup/email/${verificationId}`)).json().verified, true);
      const claims = await claimsOf(ua, await signUp(ua, new SoftwareAuthenticator(), base, 'ada@example.com', 'Ada', { verificationId }));
      assert.equal(claims.email, 'ada@example.com');
      assert.equal(claims.email_verified, true);
      const other = await signUpPage();
      assert.equal((await other.ua.postJson(`${other.base}/signup/options`, { email: 'ada@example.com', displayName: 'Ada', verificationId })).json().error, 'email_not_verified',
        'the proof is bound to its own sign-in page and spent');
    });

    test('5 wrong codes lock the code; the right one then fails too', async () => {
      const { ua, base } = await signUpPage();
      const { verificationId, code } = await sendCode(ua, base, 'wrong@example.com');
      const answers = [];
      for (let i = 0; i < 5; i += 1) answers.push(await tryCode(ua, base, verificationId, wrongCode(code)));
      assert.deepEqual(answers, ['code_wrong', 'code_wrong', 'code_wrong', 'code_wrong', 'code_locked']);
      assert.equal(await tryCode(ua, base, verificationId, code), 'code_locked');
      assert.equal((await ua.postJson(`${base}/signup/code`, { verificationId, code: '12ab56' })).status, 400, 'not six digits: a clear 400');
    });

    test('an expired code fails; a used one fails; the code of another page is unknown here', async () => {
      const { ua, base } = await signUpPage();
      const expired = await sendCode(ua, base, 'late@example.com');
      await server.services.database.db.updateTable('email_verifications').set({ expires_at: Date.now() - 1 }).where('id', '=', expired.verificationId).execute();
      assert.equal(await tryCode(ua, base, expired.verificationId, expired.code), 'code_expired');
      const used = await sendCode(ua, base, 'late@example.com');
      assert.equal(await tryCode(ua, base, used.verificationId, used.code), 'ok');
      assert.equal(await tryCode(ua, base, used.verificationId, used.code), 'code_used');
      const stranger = await signUpPage();
      assert.equal(await tryCode(stranger.ua, stranger.base, used.verificationId, used.code), 'verification_unknown');
    });

    test('16 concurrent tries with the right code: exactly one proves the address', async () => {
      const { ua, base } = await signUpPage();
      const { verificationId, code } = await sendCode(ua, base, 'race@example.com');
      const answers = await Promise.all(Array.from({ length: 16 }, () => tryCode(ua, base, verificationId, code)));
      assert.equal(answers.filter((a) => a === 'ok').length, 1, answers.join(' '));
      assert.deepEqual([...new Set(answers.filter((a) => a !== 'ok'))], ['code_used']);
    });

    test('the link in the mail, opened on another device, proves the address; the sign-up page continues', async () => {
      const { ua, base } = await signUpPage();
      const { verificationId, link } = await sendCode(ua, base, 'linked@example.com');
      const phone = new UserAgent(server.origin);
      const opened = await phone.get(link);
      assert.equal(opened.status, 200);
      assert.match(opened.text, /Confirm my e-mail address/);
      assert.equal((await ua.get(`${base}/signup/email/${verificationId}`)).json().verified, false, 'opening the link alone proves nothing (mail scanners fetch links)');
      const url = new URL(link);
      const form = new URLSearchParams({ v: url.searchParams.get('v')!, t: url.searchParams.get('t')! });
      const confirmed = await phone.request(`${server.origin}/demo/verify-email`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      assert.equal(confirmed.status, 200, confirmed.text);
      assert.match(confirmed.text, /is confirmed/);
      assert.equal((await ua.get(`${base}/signup/email/${verificationId}`)).json().verified, true);
      const again = await phone.request(`${server.origin}/demo/verify-email`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      assert.equal(again.status, 400, 'the link works once');
      const claims = await claimsOf(ua, await signUp(ua, new SoftwareAuthenticator(), base, 'linked@example.com', 'Linked', { verificationId }));
      assert.equal(claims.email_verified, true);
    });

    test('with the tenant setting off, sign-up works without a code and email_verified stays false', async () => {
      await server.services.tenants.createTenant('open', 'Open Shop');
      assert.equal(await server.services.tenants.setEmailVerification('open', 'off'), 'off');
      const rp = await createClient(server, { tenantId: 'open' });
      const { ua, base } = await signUpPage('open', rp);
      assert.equal((await ua.postJson(`${base}/signup/email`, { email: 'free@example.com', displayName: 'Free' })).json().error, 'email_verification_off');
      const claims = await claimsOf(ua, await signUp(ua, new SoftwareAuthenticator(), base, 'free@example.com', 'Free', { verify: false }), rp, 'open');
      assert.equal(claims.email_verified, false);
      await assert.rejects(server.services.tenants.setEmailVerification('open', 'maybe'), /required" or "off/);
    });

    test('an account made before verification confirms its address on the account page (same sub), and can change it', async () => {
      await server.services.tenants.setEmailVerification('demo', 'off');
      const laptop = new SoftwareAuthenticator();
      const old = await signUpPage();
      const before = await claimsOf(old.ua, await signUp(old.ua, laptop, old.base, 'old@example.com', 'Old Timer', { verify: false }));
      await server.services.tenants.setEmailVerification('demo', 'required');
      assert.equal(before.email_verified, false);

      const { ua, account } = await accountSession(laptop);
      assert.match((await ua.get(account)).text, /Verify your address/);
      const since = Date.now() - 1;
      const sent = await ua.postJson(`${account}/email/send`, {});
      assert.equal(sent.status, 200, sent.text);
      const { code } = await verificationMail(server.origin, 'old@example.com', since);
      assert.equal((await ua.postJson(`${account}/email/code`, { verificationId: sent.json().verificationId, code })).status, 200);
      assert.doesNotMatch((await ua.get(account)).text, /Verify your address/);

      const rp = await signUpPage();
      const after = await claimsOf(rp.ua, await signIn(rp.ua, laptop, rp.base));
      assert.equal(after.sub, before.sub);
      assert.equal(after.email_verified, true);

      // Changing the address: nothing changes until the new address is proved.
      const since2 = Date.now() - 1;
      const change = await ua.postJson(`${account}/email/send`, { email: 'new@example.com' });
      assert.equal(change.status, 200, change.text);
      assert.equal((await server.services.passkeys.findUser('demo', before.sub!))!.email, 'old@example.com');
      const mail = await verificationMail(server.origin, 'new@example.com', since2);
      assert.equal((await ua.postJson(`${account}/email/code`, { verificationId: change.json().verificationId, code: wrongCode(mail.code) })).json().error, 'code_wrong');
      assert.equal((await server.services.passkeys.findUser('demo', before.sub!))!.email, 'old@example.com');
      assert.equal((await ua.postJson(`${account}/email/code`, { verificationId: change.json().verificationId, code: mail.code })).status, 200);
      const changed = await server.services.passkeys.findUser('demo', before.sub!);
      assert.deepEqual([changed!.email, changed!.emailVerified], ['new@example.com', true]);
      assert.equal((await ua.postJson(`${account}/email/send`, { email: 'ada@example.com' })).json().error, 'email_taken');
    });

    test('a sign-up that proves the address closes an unconfirmed account holding it (which then signs in nowhere)', async () => {
      await server.services.tenants.setEmailVerification('demo', 'off');
      const squatter = new SoftwareAuthenticator();
      const first = await signUpPage();
      const squatted = await claimsOf(first.ua, await signUp(first.ua, squatter, first.base, 'owner@example.com', 'Not The Owner', { verify: false }));
      await server.services.tenants.setEmailVerification('demo', 'required');

      const { ua, base } = await signUpPage();
      const sent = await sendCode(ua, base, 'owner@example.com');
      assert.equal(sent.replaces, true, 'the page warns before the old account is closed');
      assert.equal(await tryCode(ua, base, sent.verificationId, sent.code), 'ok');
      const owner = await claimsOf(ua, await signUp(ua, new SoftwareAuthenticator(), base, 'owner@example.com', 'The Owner', { verificationId: sent.verificationId }));
      assert.notEqual(owner.sub, squatted.sub);
      assert.deepEqual([owner.email, owner.email_verified], ['owner@example.com', true]);

      const again = await signUpPage();
      const start = (await again.ua.postJson(`${again.base}/signin/options`, {})).json();
      const refused = await again.ua.postJson(`${again.base}/signin/verify`, { challengeId: start.challengeId, response: squatter.getAssertion(start.options, server.origin) });
      assert.equal(refused.json().error, 'unknown_account', 'the closed account signs in nowhere');
    });

    test('security mails: passkey added and removed, phone set up, sign-in from a new browser — each once', async () => {
      const email = 'notice@example.com';
      const laptop = new SoftwareAuthenticator();
      const first = await signUpPage();
      await finishAtRp(first.ua, await signUp(first.ua, laptop, first.base, email, 'Notice Me'));
      const subjects = async () => (await devMails(server.origin, email)).map((m) => m.subject.replace(/^[^:]+: /, ''));
      const until = async (count: number) => {
        const deadline = Date.now() + 10_000;
        while ((await subjects()).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        return subjects();
      };
      assert.deepEqual(await until(1), ['Confirm your e-mail address'], 'no notice for a new account');

      const same = await signUpPage();
      await signIn(same.ua, laptop, same.base);
      const firefox = new UserAgent(server.origin);
      const { base } = await openSignInPage(firefox, authorizeUrl(server, client));
      const start = (await firefox.postJson(`${base}/signin/options`, {}, { headers: { 'user-agent': FIREFOX_LINUX } })).json();
      const signedIn = await firefox.postJson(`${base}/signin/verify`, { challengeId: start.challengeId, response: laptop.getAssertion(start.options, server.origin), timeZone: 'Europe/Berlin' },
        { headers: { 'user-agent': FIREFOX_LINUX } });
      assert.equal(signedIn.status, 200, signedIn.text);

      const { ua, account } = await accountSession(laptop);
      const add = (await ua.postJson(`${account}/passkeys/options`, {})).json();
      const second = new SoftwareAuthenticator({ synced: true });
      assert.equal((await ua.postJson(`${account}/passkeys/verify`, { challengeId: add.challengeId, response: second.createCredential(add.options, server.origin) })).status, 200);
      const [secondId] = second.credentials.keys();
      assert.equal((await ua.postJson(`${account}/passkeys/remove`, { credentialId: secondId })).status, 200);
      const link = (await ua.postJson(`${account}/passport/link`, {})).json().link;
      await new PassportClient(new SoftwareAuthenticator()).enrolWithLink(link, 'Pixel');

      const mails = await until(5);
      assert.deepEqual(mails.slice(1).sort(), [
        'A passkey was added to your account', 'A passkey was removed from your account', 'A phone can now approve your sign-ins', 'New sign-in to your account',
      ].sort());
      const newSignIn = (await devMails(server.origin, email)).find((m) => m.subject.endsWith('New sign-in to your account'))!;
      assert.match(newSignIn.text, /Firefox 128 on Linux/);
      assert.match(newSignIn.text, /Europe\/Berlin/);
      assert.match(newSignIn.text, /\/demo\/account/);

      // The same browser again: no second mail.
      const later = new UserAgent(server.origin);
      const { base: laterBase } = await openSignInPage(later, authorizeUrl(server, client));
      const s2 = (await later.postJson(`${laterBase}/signin/options`, {}, { headers: { 'user-agent': FIREFOX_LINUX } })).json();
      assert.equal((await later.postJson(`${laterBase}/signin/verify`, { challengeId: s2.challengeId, response: laptop.getAssertion(s2.options, server.origin) }, { headers: { 'user-agent': FIREFOX_LINUX } })).status, 200);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await subjects()).length, 5, 'each security mail once');
    });
  });
}
