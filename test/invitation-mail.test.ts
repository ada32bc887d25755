import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { receivedMail, startSmtp, type TestSmtp } from './support/mailbox.js';
import { sesameCli } from './support/cli.js';
import { authorizeUrl, finishAtRp, openSignInPage, RP_REDIRECT } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import type { Client } from '../src/storage/repositories/clients.js';
import type { MailWorkerTuning } from '../src/mail/mail-worker.js';

/**
 * Invitations sent by mail, through the outbox and a real SMTP server: the mail names the
 * organisation, the application and when the link stops working, and the link in it is the way
 * in — accepted in the browser, it lets that address (and only that one) create an account.
 * Made with the admin API (both databases) and with `sesame invitation create --send`.
 */
const FAST: Partial<MailWorkerTuning> = { pollIntervalMs: 50, leaseMs: 5_000, backoff: { firstDelayMs: 50, factor: 2, maxDelayMs: 200, giveUpAfterMs: 60_000 } };
const smtpUrl = (smtp: TestSmtp) => `smtp://127.0.0.1:${smtp.port}`;
const tokenOf = (link: string) => new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;
const linkIn = (text: string) => /(http:\/\/localhost:\d+\/[a-z0-9-]+\/invitation#token=[A-Za-z0-9_-]{43})/.exec(text)?.[1];

/** Accepts the invitation in a fresh browser and signs up through the client with `email`: the answer of the last step taken. */
async function signUpWithInvitation(server: TestServer, client: Client, link: string, email: string) {
  const ua = new UserAgent(server.origin);
  const accepted = await ua.postJson(`${server.origin}/${client.tenantId}/invitation`, { token: tokenOf(link) });
  if (accepted.status !== 200) return { ua, answer: accepted };
  const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, client.tenantId));
  const options = await ua.postJson(`${base}/signup/options`, { email, displayName: 'Invited Person' });
  if (options.status !== 200) return { ua, answer: options };
  const done = await ua.postJson(`${base}/signup/verify`, { challengeId: options.json().challengeId, response: new SoftwareAuthenticator().createCredential(options.json().options, server.origin) });
  return { ua, answer: done };
}

for (const db of await databases()) {
  describe(`invitations by mail (${db})`, () => {
    let smtp: TestSmtp;
    let server: TestServer;
    let token: string;
    let shop: Client;

    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.origin}/api/tenants${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, text, json: () => JSON.parse(text) };
    };

    before(async () => {
      smtp = await startSmtp();
      server = await startTestServer(db, { env: { SMTP_URL: smtpUrl(smtp), MAIL_FROM: 'no-reply@example.com' }, mailTuning: FAST });
      token = (await server.services.apiTokens.create({ tenantId: null })).token;
      await server.services.tenants.setSignup('demo', 'invitation');
      await server.services.tenants.setEmailVerification('demo', 'off');
      const created = await server.services.clientAdmin.create('demo', { name: 'Members <area> & more', redirectUris: [RP_REDIRECT] });
      shop = { ...(await server.services.clients.find('demo', created.client.clientId))!, clientSecret: created.clientSecret! };
    });
    after(async () => {
      await server.close();
      await smtp.close();
    });

    test('the mail names the organisation, the application and the expiry; its link lets that address sign up, and no other', async () => {
      const sent = await api('POST', '/demo/invitations', { email: 'Ivy@Example.com', send: true, clientId: shop.clientId, expiresInDays: 3 });
      assert.equal(sent.status, 201, sent.text);
      assert.deepEqual(Object.keys(sent.json()).sort(), ['invitation', 'sentTo'], 'the link is only in the mail');
      assert.equal(sent.json().sentTo, 'ivy@example.com');
      const { expiresAt } = sent.json().invitation;

      const mail = await receivedMail(smtp, 'ivy@example.com', /invited/);
      assert.equal(mail.subject, 'Demo Shop: You are invited to Members <area> & more');
      assert.deepEqual(mail.from?.value, [{ name: 'Demo Shop', address: 'no-reply@example.com' }]);
      const text = mail.text ?? '';
      assert.match(text, /Demo Shop invites you to create an account for Members <area> & more\./);
      const expiry = new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' }).format(expiresAt);
      assert.ok(text.includes(`The invitation works until ${expiry} (UTC).`), text);
      assert.match(text, /open Members <area> & more and choose "Create an account" with this e-mail address/);
      const html = String(mail.html);
      assert.ok(html.includes('Members &#60;area&#62; &#38; more') && !html.includes('<area>'), 'the HTML part escapes the client\'s name');
      const link = linkIn(text);
      assert.ok(link, text);
      assert.ok(html.includes(`href="${link}"`), 'the HTML part links to the invitation');

      const other = await signUpWithInvitation(server, shop, link, 'mallory@example.com');
      assert.equal(other.answer.status, 403, 'another address cannot use it');
      assert.equal(other.answer.json().error, 'invitation_for_another_address');
      const ivy = await signUpWithInvitation(server, shop, link, 'ivy@example.com');
      assert.equal(ivy.answer.status, 200, ivy.answer.text);
      assert.ok((await finishAtRp(ivy.ua, ivy.answer.json().redirectTo)).params.code);

      const row = await server.services.database.db.selectFrom('mail_outbox').select(['data', 'status']).where('recipient', '=', 'ivy@example.com').executeTakeFirstOrThrow();
      assert.deepEqual(row, { data: '', status: 'sent' }, 'the link is not kept once the mail is sent');
      const events = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', type: 'admin.invitation_created' })) events.push(e);
      assert.equal(events.at(-1)!.detail.sent, true);
    });

    test('without a client given, the mail names the tenant\'s only client, or none', async () => {
      await server.services.tenants.createTenant('solo', 'Solo Ltd');
      await server.services.clientAdmin.create('solo', { name: 'Solo Portal', redirectUris: [RP_REDIRECT] });
      assert.equal((await api('POST', '/solo/invitations', { email: 'one@example.com', send: true })).status, 201);
      const one = await receivedMail(smtp, 'one@example.com', /invited/);
      assert.equal(one.subject, 'Solo Ltd: You are invited to Solo Portal');

      await server.services.clientAdmin.create('solo', { name: 'Solo Admin', redirectUris: [RP_REDIRECT] });
      assert.equal((await api('POST', '/solo/invitations', { email: 'two@example.com', send: true })).status, 201);
      const two = await receivedMail(smtp, 'two@example.com', /invited/);
      assert.equal(two.subject, 'Solo Ltd: You are invited to create an account');
      assert.match(two.text ?? '', /Solo Ltd invites you to create an account\. /);
      assert.match(two.text ?? '', /then open the application of Solo Ltd and choose "Create an account"/);
    });

    test('sending needs an address; a client only with sending, and one of the tenant\'s; a refusal stores and sends nothing', async () => {
      const before = (await api('GET', '/demo/invitations')).text;
      const outbox = async () => (await server.services.database.db.selectFrom('mail_outbox').select('id').execute()).length;
      const queued = await outbox();
      const refusals: Array<[unknown, number, RegExp]> = [
        [{ send: true }, 400, /give the address it is for/],
        [{ email: 'x@example.com', clientId: shop.clientId }, 400, /give it with send/],
        [{ email: 'x@example.com', send: true, clientId: 'no-such-client' }, 404, /has no client "no-such-client"/],
        [{ email: 'not an address', send: true }, 400, /email/],
      ];
      for (const [body, status, message] of refusals) {
        const answer = await api('POST', '/demo/invitations', body);
        assert.equal(answer.status, status, `${JSON.stringify(body)}: ${answer.text}`);
        assert.match(answer.json().detail, message);
      }
      const otherTenants = await api('POST', '/solo/invitations', { email: 'x@example.com', send: true, clientId: shop.clientId });
      assert.equal(otherTenants.status, 404, 'another tenant\'s client is not found');
      assert.equal((await api('GET', '/demo/invitations')).text, before);
      assert.equal(await outbox(), queued);
    });
  });
}

describe('sesame invitation create | list | revoke', () => {
  const key = randomBytes(32).toString('base64url');
  const { sesame } = sesameCli('sesame-invitation', {});
  let smtp: TestSmtp;
  let server: TestServer;
  let shop: Client;

  before(async () => {
    smtp = await startSmtp();
    server = await startTestServer('sqlite', { env: { SMTP_URL: smtpUrl(smtp), SESAME_SECRET_KEY: key }, mailTuning: FAST });
    // The command works on the server's database, as an operator's shell on the server does.
    Object.assign(process.env, { DATA_DIR: server.services.config.dataDir, PUBLIC_URL: server.origin, SESAME_SECRET_KEY: key });
    await server.services.tenants.setEmailVerification('demo', 'off');
    const created = await server.services.clientAdmin.create('demo', { name: 'Members area', redirectUris: [RP_REDIRECT] });
    shop = { ...(await server.services.clients.find('demo', created.client.clientId))!, clientSecret: created.clientSecret! };
    await server.services.groups.create('demo', { name: 'Volunteers' });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  test('create prints the link once (and says sign-up is still open); the link works; list shows it used; revoke withdraws', async () => {
    const created = await sesame('invitation', 'create', '--tenant', 'demo', '--uses', '2', '--days', '5', '--group', 'Volunteers');
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /^Invitation (\S+) to tenant "demo": it can be used 2 times, until \d{4}-\d\d-\d\dT/);
    assert.match(created.out, /anyone can create an account at tenant "demo" for now; close sign-up with: sesame tenant set demo --signup invitation/);
    const link = linkIn(created.out)!;
    const id = /^Invitation (\S+)/.exec(created.out)![1]!;
    assert.ok(link, created.out);

    assert.equal((await sesame('tenant', 'set', 'demo', '--signup', 'invitation')).code, 0);
    const used = await signUpWithInvitation(server, shop, link, 'vera@example.com');
    assert.equal(used.answer.status, 200, used.answer.text);
    const user = await server.services.users.findByEmail('demo', 'vera@example.com');
    assert.deepEqual((await server.services.groups.groupsOf('demo', user!.id)).map((g) => g.name), ['Volunteers']);

    const listed = await sesame('invitation', 'list', '--tenant', 'demo');
    assert.match(listed.out, new RegExp(`^ID +FOR +USES +EXPIRES +STATE\\n${id} +anyone with the link +1/2 +\\S+ +open$`, 'm'));
    assert.ok(!listed.out.includes(tokenOf(link)), 'the link is never listed');
    assert.equal((await sesame('invitation', 'revoke', '--tenant', 'demo', id)).code, 0);
    assert.match((await sesame('invitation', 'list', '--tenant', 'demo')).out, new RegExp(`${id} .* withdrawn`));
    const refused = await signUpWithInvitation(server, shop, link, 'walt@example.com');
    assert.equal(refused.answer.status, 400, 'a withdrawn invitation cannot be accepted');
    assert.equal(refused.answer.json().error, 'invitation_invalid');
  });

  test('--send mails it through the running server\'s outbox, naming the application; bad flags are usage errors', async () => {
    const sent = await sesame('invitation', 'create', '--tenant', 'demo', '--email', 'cli@example.com', '--send', '--client', shop.clientId);
    assert.equal(sent.code, 0, sent.err);
    assert.match(sent.out, /^Invitation \S+ to tenant "demo" is mailed to cli@example.com; it can be used once, until /);
    assert.ok(!/invitation#token=/.test(sent.out), 'the link is only in the mail');
    const mail = await receivedMail(smtp, 'cli@example.com', /invited/);
    assert.equal(mail.subject, 'Demo Shop: You are invited to Members area');
    const used = await signUpWithInvitation(server, shop, linkIn(mail.text ?? '')!, 'cli@example.com');
    assert.equal(used.answer.status, 200, used.answer.text);

    const usage: Array<[string[], RegExp]> = [
      [['invitation', 'create', '--tenant', 'demo', '--send'], /--send mails the invitation to --email <address>/],
      [['invitation', 'create', '--tenant', 'demo', '--uses', 'many'], /--uses takes a whole number from 1 to 10000, not "many"/],
      [['invitation', 'create', '--tenant', 'demo', '--days', '31'], /--days takes a whole number from 1 to 30/],
      [['invitation', 'create', '--email', 'x@example.com'], /"invitation create" needs --tenant <id>/],
      [['invitation', 'revoke', '--tenant', 'demo'], /Give the invitation's id/],
    ];
    for (const [args, message] of usage) {
      const answer = await sesame(...args);
      assert.equal(answer.code, 2, `${args.join(' ')}: ${answer.out}`);
      assert.match(answer.err, message);
      assert.match(answer.err, /Usage: sesame invitation/);
    }
    const unknownGroup = await sesame('invitation', 'create', '--tenant', 'demo', '--group', 'Nobody');
    assert.equal(unknownGroup.code, 1);
    assert.match(unknownGroup.err, /has no group "Nobody"/);
    assert.match((await sesame('help', 'invitation', 'create')).out, /--send mails it there/);
  });
});
