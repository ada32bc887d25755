import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, finishAtRp, openSignInPage, signUp } from './support/flow.js';
import { verificationMail } from './support/mailbox.js';
import type { Client } from '../src/storage/repositories/clients.js';
import type { AuditEntry } from '../src/audit/audit-repository.js';
import { runAuditCommand } from '../src/cli/audit-commands.js';
import { runWithAuditContext } from '../src/audit/audit-context.js';
import { main } from '../src/cli/main.js';

/** A browser behind one trusted proxy: the audit log must show the address client-ip.ts believes, and this User-Agent. */
class ProxiedBrowser extends UserAgent {
  constructor(origin: string, readonly ip: string, readonly userAgent: string) {
    super(origin);
  }

  override request(url: string, init: RequestInit & { origin?: string | null } = {}) {
    const headers = new Headers(init.headers);
    headers.set('user-agent', this.userAgent);
    headers.set('x-forwarded-for', `198.51.100.99, ${this.ip}`);
    return super.request(url, { ...init, headers });
  }
}

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

for (const db of await databases()) {
  describe(`audit log (${db})`, () => {
    let server: TestServer;
    let client: Client;
    const logLines: string[] = [];
    before(async () => {
      const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } }));
      server = await startTestServer(db, { env: { TRUST_PROXY: '1' }, logger });
      client = await createClient(server);
    });
    after(() => server.close());

    const events = async (filter: { userId?: string; type?: string } = {}): Promise<AuditEntry[]> => {
      const all: AuditEntry[] = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', ...filter })) all.push(e);
      return all;
    };

    test('sign-up, sign-in, add and remove a passkey, failed sign-ins: exactly these events, with IP, User-Agent and request id, and no secret', async () => {
      const ua = new ProxiedBrowser(server.origin, '203.0.113.7', UA);
      const laptop = new SoftwareAuthenticator();
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const since = Date.now() - 1;
      const mailCodes: string[] = [];
      const sent = (await ua.postJson(`${base}/signup/email`, { email: 'ada@example.com', displayName: 'Ada Lovelace' })).json();
      const mail = await verificationMail(base, 'ada@example.com', since);
      mailCodes.push(mail.code, new URL(mail.link).searchParams.get('t') ?? 'no-token');
      assert.equal((await ua.postJson(`${base}/signup/code`, { verificationId: sent.verificationId, code: mail.code })).status, 200);
      const redirect = await signUp(ua, laptop, base, 'ada@example.com', 'Ada Lovelace', { verificationId: sent.verificationId });
      const atRp = await finishAtRp(ua, redirect);

      const account = `${server.origin}/demo/account`;
      const signInAccount = async (authenticator: SoftwareAuthenticator) => {
        const start = (await ua.postJson(`${account}/signin/options`, {})).json();
        return ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
      };
      const signedIn = await signInAccount(laptop);
      assert.equal(signedIn.status, 200, signedIn.text);
      const phone = new SoftwareAuthenticator({ synced: true });
      const add = (await ua.postJson(`${account}/passkeys/options`, {})).json();
      assert.equal((await ua.postJson(`${account}/passkeys/verify`, { challengeId: add.challengeId, response: phone.createCredential(add.options, server.origin) })).status, 200);
      const [phoneId] = phone.credentials.keys();
      const removed = await ua.postJson(`${account}/passkeys/remove`, { credentialId: phoneId });
      assert.equal(removed.status, 200);
      const requestIdOfRemoval = removed.headers.get('x-request-id');
      // The removed passkey no longer signs in: twice, recorded as one row with a count.
      const failures = [await signInAccount(phone), await signInAccount(phone)];
      for (const failed of failures) assert.equal(failed.status >= 400 && failed.status < 500, true, failed.text);
      const reason = failures[0].json().error;

      const user = await server.services.users.findByEmail('demo', 'ada@example.com');
      const all = await events();
      assert.deepEqual(all.map((e) => e.type), ['email.verified', 'signup.succeeded', 'signin.succeeded', 'passkey.added', 'passkey.removed', 'signin.failed']);
      for (const e of all) {
        assert.equal(e.ip, '203.0.113.7', `${e.type}: the address client-ip.ts believes`);
        assert.equal(e.userAgent, UA, e.type);
        assert.match(e.requestId ?? '', /^[A-Za-z0-9_-]{12}$/, e.type);
        assert.equal(e.actor, 'user');
      }
      assert.equal(new Set(all.map((e) => e.requestId)).size, 6, 'each event from its own request (the aggregated failure keeps the first one\'s)');
      const [verified, signup, signin, added, removal, failure] = all;
      assert.equal(verified.userEmail, 'ada@example.com');
      for (const e of [signup, signin, added, removal]) {
        assert.equal(e.userId, user!.id, e.type);
        assert.equal(e.userEmail, 'ada@example.com', e.type);
      }
      assert.deepEqual(signin.detail.via, 'account');
      assert.equal(added.detail.credentialId, phoneId);
      assert.equal(removal.detail.credentialId, phoneId);
      assert.equal(removal.requestId, requestIdOfRemoval);
      assert.equal(failure.count, 2);
      assert.deepEqual(failure.detail, { via: 'account', reason });
      assert.equal(failure.userId, null);

      // No secret in any row: the client secret, the e-mail code and link token, the code and tokens of the sign-in, cookies.
      const cookies = (await ua.jar.getCookies(server.origin + '/demo/account')).map((c) => c.value);
      const secrets = [client.clientSecret, ...mailCodes, atRp.params.code, ...cookies].filter((s): s is string => typeof s === 'string' && s.length >= 6);
      assert.ok(secrets.length >= 4, `secrets to look for: ${secrets.length}`);
      const rows = JSON.stringify(await server.services.database.db.selectFrom('audit_log').selectAll().execute());
      for (const secret of secrets) assert.ok(!rows.includes(secret), `a secret (${secret.slice(0, 3)}…) is in the audit log`);
    });

    test('sesame audit list and export: filters by user, type and time; export is JSON lines', async () => {
      const user = await server.services.users.findByEmail('demo', 'ada@example.com');
      assert.ok(user, 'the sign-up of the first test');
      const run = async (action: string, flags: Record<string, unknown>) => {
        const out: string[] = [];
        await runAuditCommand(action, { tenant: 'demo', ...flags }, server.services, (line = '') => out.push(line));
        return out;
      };
      const exported = (await run('export', { user: 'ada@example.com' })).map((line) => JSON.parse(line));
      assert.deepEqual(exported.map((e) => e.type), ['signup.succeeded', 'signin.succeeded', 'passkey.added', 'passkey.removed']);
      assert.ok(exported.every((e) => e.userId === user.id && e.ip === '203.0.113.7' && e.tenant === 'demo'));
      assert.deepEqual((await run('export', { type: 'signin.failed' })).map((l) => JSON.parse(l).count), [2]);
      const listed = await run('list', { type: 'passkey.added' });
      assert.equal(listed.length, 2);
      assert.match(listed[0], /^TIME\s+EVENT\s+USER\s+FROM/);
      assert.match(listed[1], /passkey\.added\s+ada@example\.com\s+203\.0\.113\.7/);
      const signUpAt = Date.parse(exported[0].time);
      assert.deepEqual((await run('export', { user: 'ada@example.com', until: new Date(signUpAt + 1).toISOString() })).map((l) => JSON.parse(l).type), ['signup.succeeded']);
      assert.deepEqual(await run('export', { since: '2999-01-01' }), []);
      assert.deepEqual(await run('list', { since: '2999-01-01' }), ['No audit events in tenant "demo" match.']);
      await assert.rejects(run('list', { since: 'yesterday' }), /--since takes an ISO 8601 date/);
    });

    test('events older than AUDIT_RETENTION_DAYS (400) are purged, younger ones stay', async () => {
      const day = 86_400_000;
      const now = Date.now();
      await runWithAuditContext({ actor: 'cli' }, async () => {
        await server.services.audit.record({ type: 'admin.keys_rotated', tenantId: 'demo', detail: { kid: 'old' } }, now - 401 * day);
        await server.services.audit.record({ type: 'admin.keys_rotated', tenantId: 'demo', detail: { kid: 'young' } }, now - 399 * day);
      });
      assert.deepEqual((await events({ type: 'admin.keys_rotated' })).map((e) => [e.detail.kid, e.actor, e.ip]), [['old', 'cli', null], ['young', 'cli', null]]);
      assert.equal(await server.services.audit.purgeExpired(now), 1);
      assert.deepEqual((await events({ type: 'admin.keys_rotated' })).map((e) => e.detail.kid), ['young']);
    });

    test('when the audit log cannot be written, the sign-in still succeeds and the log says so', async () => {
      const grace = new SoftwareAuthenticator();
      const ua = new ProxiedBrowser(server.origin, '203.0.113.8', UA);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await signUp(ua, grace, base, 'grace@example.com', 'Grace Hopper');
      await server.services.database.db.schema.dropTable('audit_log').execute();
      const account = `${server.origin}/demo/account`;
      const start = (await ua.postJson(`${account}/signin/options`, {})).json();
      const signedIn = await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: grace.getAssertion(start.options, server.origin) });
      assert.equal(signedIn.status, 200, signedIn.text);
      const line = logLines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('an audit event could not be recorded') && l.audit?.type === 'signin.succeeded');
      assert.ok(line, 'an error line with the event');
      assert.equal(line.level, 50);
      assert.equal(line.audit.userEmail, 'grace@example.com');
      assert.equal(line.audit.ip, '203.0.113.8');
    });
  });
}

describe('sesame CLI records administrators\' changes (actor cli)', () => {
  test('tenant create, client create: audit events without address, and no client secret', async () => {
    const server = await startTestServer('sqlite');
    const saved = { ...process.env };
    Object.assign(process.env, { DATA_DIR: server.services.config.dataDir, PUBLIC_URL: server.url, DATABASE_URL: '' });
    try {
      const out: string[] = [];
      const sesame = (...args: string[]) => main(args, (line = '') => out.push(line), (line) => out.push(line));
      assert.equal(await sesame('tenant', 'create', 'acme', '--name', 'Acme'), 0, out.join('\n'));
      assert.equal(await sesame('client', 'create', '--tenant', 'acme', '--name', 'Shop', '--redirect-uri', 'https://shop.example.com/cb'), 0, out.join('\n'));
      const secret = /Client secret:\s+(\S+)/.exec(out.join('\n'))?.[1];
      assert.ok(secret);
      out.length = 0;
      assert.equal(await sesame('audit', 'export', '--tenant', 'acme'), 0, out.join('\n'));
      const exported = out.map((l) => JSON.parse(l));
      assert.deepEqual(exported.map((e) => [e.type, e.actor, e.ip, e.userAgent]), [['admin.tenant_created', 'cli', null, null], ['admin.client_created', 'cli', null, null]]);
      assert.ok(!out.join('\n').includes(secret), 'no client secret in the audit log');
      out.length = 0;
      assert.equal(await sesame('audit', 'list', '--tenant', 'acme', '--type', 'admin.client_created'), 0);
      assert.equal(out.length, 2);
      assert.match(out[1], /admin\.client_created\s+cli/);
    } finally {
      process.env = saved;
      await server.close();
    }
  });
});
