import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { databases, freePort, startTestServer, type DbKind, type TestServer } from './support/server.js';
import { startSmtp, type TestSmtp } from './support/mailbox.js';
import type { MailWorkerTuning } from '../src/mail/mail-worker.js';
import { nextAttemptAt, DEFAULT_BACKOFF } from '../src/mail/backoff.js';
import { loadConfig } from '../src/config.js';

/** Short backoff, lease and poll, so that retries and lease expiry happen within the test. */
const FAST: Partial<MailWorkerTuning> = {
  pollIntervalMs: 50,
  leaseMs: 5_000,
  backoff: { firstDelayMs: 50, factor: 2, maxDelayMs: 200, giveUpAfterMs: 60_000 },
};

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const status = async (server: TestServer, id: string) => (await server.services.mailOutbox.find(id))!;

const smtpUrl = (smtp: { port: number }, auth?: { user: string; pass: string }) => `smtp://${auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : ''}127.0.0.1:${smtp.port}`;

function verifyEmail(tenantId: string, displayName = 'Ada') {
  return { tenantId, to: 'ada@example.com', template: 'verify-email' as const, data: { code: '123456', link: 'http://localhost/verify?c=1', expiresInMinutes: 15, displayName } };
}

/** Two Sesame nodes on one database (same file or schema, same secret key). */
async function startPair(kind: DbKind, env: Record<string, string>): Promise<[TestServer, TestServer]> {
  const key = randomBytes(32).toString('base64url');
  const a = await startTestServer(kind, { env: { ...env, SESAME_SECRET_KEY: key }, mailTuning: FAST });
  const b = await startTestServer(kind, {
    env: { ...env, SESAME_SECRET_KEY: key, DATA_DIR: a.services.config.dataDir },
    mailTuning: FAST,
    ...(kind === 'postgres' ? { pgSchema: a.services.database.schema } : {}),
  });
  return [a, b];
}

for (const kind of await databases()) {
  describe(`mail over SMTP (${kind})`, () => {
    test('a queued mail is delivered once, with text and HTML parts, from the tenant, with the outbox id as Message-ID (SMTP AUTH)', async () => {
      const auth = { user: 'sesame', pass: 'p@ss:word/1' };
      const smtp = await startSmtp({ auth });
      const server = await startTestServer(kind, { env: { SMTP_URL: smtpUrl(smtp, auth), MAIL_FROM: 'no-reply@example.com' }, mailTuning: FAST });
      try {
        await server.services.tenants.createTenant('acme', 'Acme & Co "Shop"');
        const { id } = await server.services.mail.enqueue(verifyEmail('acme'));
        await until(async () => (await status(server, id)).status === 'sent', 'the mail is sent');
        await server.services.mailWorker!.stop();
        assert.equal(smtp.received.length, 1, 'delivered exactly once');
        const mail = smtp.received[0];
        assert.equal(mail.messageId, `<${id}@localhost>`);
        assert.deepEqual(mail.from?.value, [{ name: 'Acme & Co "Shop"', address: 'no-reply@example.com' }]);
        assert.equal(mail.subject, 'Acme & Co "Shop": Confirm your e-mail address');
        assert.match(mail.text ?? '', /123456/);
        assert.match(String(mail.html), /123456/);
        assert.equal(mail.headers.get('auto-submitted'), 'auto-generated');
        const row = await status(server, id);
        assert.equal(row.attempts, 1);
        assert.equal(row.data, '', 'the code is not kept once the mail is sent');
      } finally {
        await server.close();
        await smtp.close();
      }
    });

    test('without AUTH; the HTML part escapes the data', async () => {
      const smtp = await startSmtp();
      const server = await startTestServer(kind, { env: { SMTP_URL: smtpUrl(smtp) }, mailTuning: FAST });
      try {
        const { id } = await server.services.mail.enqueue(verifyEmail('demo', '<script>alert(1)</script>'));
        await until(async () => (await status(server, id)).status === 'sent', 'the mail is sent');
        const html = String(smtp.received[0].html);
        assert.ok(!html.includes('<script>'), 'no markup from the data');
        assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'), 'the name is shown escaped');
        assert.match(smtp.received[0].text ?? '', /<script>alert\(1\)<\/script>/, 'the text part shows it as written');
      } finally {
        await server.close();
        await smtp.close();
      }
    });

    test('SMTP down, then answering 451: retried with backoff, delivered once when it comes up', async () => {
      const port = await freePort();
      const server = await startTestServer(kind, { env: { SMTP_URL: smtpUrl({ port }) }, mailTuning: FAST });
      let smtp: TestSmtp | undefined;
      try {
        const { id } = await server.services.mail.enqueue(verifyEmail('demo'));
        await until(async () => (await status(server, id)).attempts >= 2, 'two attempts failed');
        const down = await status(server, id);
        assert.equal(down.status, 'queued', 'still queued while SMTP is down');
        assert.match(down.last_error ?? '', /ECONNREFUSED/);
        assert.ok(down.next_attempt_at > down.created_at, 'the next attempt waits');
        smtp = await startSmtp({ port, rejectFirst: 2 });
        await until(async () => (await status(server, id)).status === 'sent', 'the mail is sent');
        await server.services.mailWorker!.stop();
        assert.equal(smtp.received.length, 1, 'delivered exactly once');
        assert.ok((await status(server, id)).attempts >= 5, 'two refused connections and two 451 answers came first');
      } finally {
        await server.close();
        await smtp?.close();
      }
    });

    test('restart: a mail claimed by a worker that died is sent by the next one, exactly once', async () => {
      const smtp = await startSmtp();
      const env = { SMTP_URL: smtpUrl(smtp), SESAME_SECRET_KEY: randomBytes(32).toString('base64url') };
      const dead = await startTestServer(kind, { env, mailTuning: FAST });
      let successor: TestServer | undefined;
      try {
        await dead.services.mailWorker!.stop(); // from here on, nothing of this node sends
        const { id } = await dead.services.mail.enqueue(verifyEmail('demo'));
        const claimed = await dead.services.mailOutbox.claimDue({ now: Date.now(), leaseMs: 300, limit: 10, token: 'died-while-sending' });
        assert.deepEqual(claimed.map((r) => r.id), [id]);
        successor = await startTestServer(kind, {
          env: { ...env, DATA_DIR: dead.services.config.dataDir },
          mailTuning: FAST,
          ...(kind === 'postgres' ? { pgSchema: dead.services.database.schema } : {}),
        });
        await until(async () => (await status(dead, id)).status === 'sent', 'the next worker sent the mail');
        await successor.services.mailWorker!.stop();
        assert.equal(smtp.received.length, 1);
        assert.equal((await status(dead, id)).attempts, 2, 'the dead claim counted as an attempt');
      } finally {
        await successor?.close();
        await dead.close();
        await smtp.close();
      }
    });

    test('two workers on one database never send the same mail twice (16 mails)', async () => {
      const smtp = await startSmtp();
      const [a, b] = await startPair(kind, { SMTP_URL: smtpUrl(smtp) });
      try {
        const ids = (await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).services.mail.enqueue(verifyEmail('demo'))))).map((m) => m.id);
        await until(async () => (await Promise.all(ids.map((id) => status(a, id)))).every((r) => r.status === 'sent'), 'all 16 are sent');
        await Promise.all([a.services.mailWorker!.stop(), b.services.mailWorker!.stop()]);
        const messageIds = smtp.received.map((m) => m.messageId);
        assert.equal(messageIds.length, 16, 'sixteen deliveries');
        assert.deepEqual(new Set(messageIds), new Set(ids.map((id) => `<${id}@localhost>`)), 'each mail once');
      } finally {
        await b.close();
        await a.close();
        await smtp.close();
      }
    });
  });

  describe(`dev outbox (${kind})`, () => {
    let server: TestServer;
    before(async () => { server = await startTestServer(kind, { mailTuning: FAST }); });
    after(() => server.close());

    test('without SMTP_URL on localhost a mail becomes an .eml file, listed at /dev/outbox', async () => {
      const { id } = await server.services.mail.enqueue({
        tenantId: 'demo', to: 'grace@example.com', template: 'security-notice',
        data: { event: 'passkey-added', at: Date.UTC(2025, 2, 4, 13, 5), timeZone: 'Europe/Berlin', browser: 'Firefox 140', system: 'Linux', deviceName: '<b>Key</b>' },
      });
      await until(async () => (await status(server, id)).status === 'sent', 'the mail is written');
      const eml = fs.readFileSync(path.join(server.services.config.dataDir, 'outbox', `${id}.eml`));
      const parsed = await simpleParser(eml);
      assert.equal(parsed.messageId, `<${id}@localhost>`);
      assert.match(parsed.text ?? '', /Tuesday, 4 March 2025 at 14:05 \(Europe\/Berlin\)/);
      assert.match(parsed.text ?? '', new RegExp(`${server.origin}/demo/account`));

      const page = await fetch(`${server.origin}/dev/outbox`);
      assert.equal(page.status, 200);
      const body = await page.text();
      assert.match(body, /grace@example\.com/);
      assert.match(body, /Demo Shop: A passkey was added to your account/);
      assert.ok(body.includes(`/dev/outbox/${id}.eml`));
      const download = await fetch(`${server.origin}/dev/outbox/${id}.eml`);
      assert.equal(download.headers.get('content-type'), 'message/rfc822');
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), eml);
      const html = await fetch(`${server.origin}/dev/outbox/${id}.html`);
      assert.match(html.headers.get('content-security-policy') ?? '', /sandbox/);
      assert.ok((await html.text()).includes('&#60;b&#62;Key&#60;/b&#62;'));
      assert.match(await (await fetch(`${server.origin}/dev/outbox/${id}.txt`)).text(), /<b>Key<\/b>/);
      assert.equal((await fetch(`${server.origin}/dev/outbox/..%2Fsesame.db.eml`)).status, 404);
    });
  });

  test(`with an https PUBLIC_URL and no SMTP_URL, mails stay queued and /dev/outbox is a 404 (${kind})`, async () => {
    const server = await startTestServer(kind, { env: { PUBLIC_URL: 'https://id.example.com', SESAME_DEMO: 'true' }, mailTuning: FAST });
    try {
      assert.equal(server.services.mailWorker, undefined);
      const { id } = await server.services.mail.enqueue(verifyEmail('demo'));
      assert.equal((await fetch(`${server.origin}/dev/outbox`)).status, 404);
      assert.equal((await status(server, id)).status, 'queued');
      assert.ok(!fs.existsSync(path.join(server.services.config.dataDir, 'outbox')), 'no files on a deployment');
    } finally {
      await server.close();
    }
  });
}

describe('mail rules', () => {
  test('enqueue refuses a bad address and data that does not fit the template, and writes nothing', async () => {
    const server = await startTestServer('sqlite');
    try {
      await assert.rejects(server.services.mail.enqueue({ ...verifyEmail('demo'), to: 'not an address' }), { code: 'invalid_email', status: 400 });
      await assert.rejects(server.services.mail.enqueue({ ...verifyEmail('demo'), data: { ...verifyEmail('demo').data, code: '12345' } }), /code: six digits/);
      assert.equal((await server.services.database.db.selectFrom('mail_outbox').select('id').execute()).length, 0);
    } finally {
      await server.close();
    }
  });

  test('backoff grows from 30 s with jitter, and gives up after 24 hours', () => {
    const at = (attempts: number, random = 0.5) => nextAttemptAt({ attempts, now: 0, createdAt: 0, backoff: DEFAULT_BACKOFF, random: () => random })!;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => at(n)), [30_000, 120_000, 480_000, 1_920_000, 7_680_000, 21_600_000, 21_600_000]);
    assert.equal(at(1, 0), 24_000);
    assert.equal(at(1, 1), 36_000);
    assert.equal(nextAttemptAt({ attempts: 9, now: 21 * 3600_000, createdAt: 0, backoff: DEFAULT_BACKOFF, random: () => 0.5 }), undefined);
  });

  test('SMTP_URL is checked without repeating the password', () => {
    assert.throws(() => loadConfig({ SMTP_URL: 'http://user:hunter2@smtp.example.com' }), (err: Error) => !err.message.includes('hunter2'));
    const { smtp } = loadConfig({ SMTP_URL: 'smtps://user%40example.com:p%3Ass@smtp.example.com' }).mail;
    assert.deepEqual(smtp, { host: 'smtp.example.com', port: 465, secure: true, auth: { user: 'user@example.com', pass: 'p:ss' } });
  });
});
