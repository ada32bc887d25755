import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, finishAtRp, openSignInPage, signIn, signUp, signUpThroughRp } from './support/flow.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Client } from '../src/storage/repositories/clients.js';
import { isDatabaseUnavailable } from '../src/storage/unavailable.js';

/**
 * The SQLite volume fills up, then turns read-only: requests that must write answer 503 with
 * Retry-After (never 500, never a hang), /readyz says the database cannot be written, and
 * everything works again once space is freed. A 4 MB tmpfs stands in for the volume: room for the
 * migrations' write-ahead log (about 1.3 MB on a new database, growing with each migration) and a
 * few sign-ups before the test fills it.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-full-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
  mounted = true;
} catch (error) {
  if (process.env.CI === 'true') throw new Error(`CI must run the full-disk test, but mounting a tmpfs failed: ${(error as Error).message}`);
  console.warn(`\n!!! Cannot mount a tmpfs (${(error as Error).message.split('\n')[0]}): the SQLite full-disk test is SKIPPED.\n`);
}

describe('SQLite volume full or read-only', { skip: !mounted && 'cannot mount a tmpfs here (needs root)' }, () => {
  let server: TestServer;
  let client: Client;
  const filler = path.join(dir, 'filler');

  before(async () => {
    server = await startTestServer('sqlite', { env: { DATA_DIR: dir } });
    client = await createClient(server);
  });
  after(async () => {
    await server?.close();
    if (mounted) execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fillDisk = () => {
    const fd = fs.openSync(filler, 'a');
    try {
      for (const size of [65536, 4096, 512, 1]) {
        const chunk = Buffer.alloc(size);
        try {
          for (;;) fs.writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  };

  const readiness = async () => {
    const response = await fetch(`${server.origin}/readyz`);
    return { status: response.status, body: await response.json() };
  };

  /** The database cannot be written: both our routes and oidc-provider's answer 503 with Retry-After. */
  const assertUnavailable = async (ua: UserAgent, base: string) => {
    // The first write of a sign-up: the e-mail code it sends is stored (and queued as a mail).
    const start = await ua.postJson(`${base}/signup/email`, { email: 'later@example.com', displayName: 'Later' });
    assert.equal(start.status, 503, start.text);
    assert.equal(start.headers.get('retry-after'), '5');
    assert.equal(start.json().error, 'service_unavailable');
    const auth = await new UserAgent(server.origin).get(authorizeUrl(server, client));
    assert.equal(auth.status, 503, auth.text.slice(0, 300));
    assert.equal(auth.headers.get('retry-after'), '5');
    const ready = await readiness();
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.failed, ['writable'], JSON.stringify(ready.body));
    assert.equal(ready.body.checks.database.ok, true);
  };

  const assertRecovered = async (ua: UserAgent, base: string, email: string) => {
    assert.equal((await readiness()).status, 200);
    const { params } = await finishAtRp(ua, await signUp(ua, new SoftwareAuthenticator(), base, email, 'Recovered'));
    assert.ok(params.code);
  };

  test('a full disk: 503 and unready, then recovery once space is freed', async () => {
    await signUpThroughRp(server, client, 'before@example.com', 'Before');
    const ua = new UserAgent(server.origin);
    const { base } = await openSignInPage(ua, authorizeUrl(server, client));
    // Like the scheduled checkpoint: the write-ahead log is emptied, so the next write needs new space.
    server.services.database.checkpoint();
    fillDisk();
    await assertUnavailable(ua, base);
    fs.rmSync(filler);
    await assertRecovered(ua, base, 'after-full@example.com');
  });

  test('a full disk when the sign-in resumes: 503 and nothing half-written; the same sign-in completes once space is freed', async () => {
    const authenticator = new SoftwareAuthenticator();
    await signUpThroughRp(server, client, 'resume@example.com', 'Resume', authenticator);
    const ua = new UserAgent(server.origin);
    const { base } = await openSignInPage(ua, authorizeUrl(server, client));
    const resume = await signIn(ua, authenticator, base, 'resume@example.com');
    server.services.database.checkpoint();
    fillDisk();
    // The resumed authorization writes the session, its passkey, the grant and the code, and deletes the interaction: all or none.
    const refused = await ua.get(resume);
    assert.equal(refused.status, 503, refused.text.slice(0, 300));
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(refused.headers.get('location'), null);
    assert.doesNotMatch(refused.text, /name="code"/, 'no code is handed out');
    fs.rmSync(filler);
    const { params } = await finishAtRp(ua, resume);
    assert.ok(params.code, 'the interaction is still there: the sign-in goes on');
  });

  test('a read-only data directory at start-up: start-up waits, says why, and starts once it is writable', async () => {
    await server.close();
    // With nothing open on it the volume can be remounted read-only, as after a storage fault.
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const lines: string[] = [];
    const logger = pino({ level: 'warn', base: undefined }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    let writable = false;
    const makeWritable = () => {
      if (!writable) execFileSync('mount', ['-o', 'remount,rw', dir]);
      writable = true;
    };
    try {
      await assert.rejects(startTestServer('sqlite', { logger, env: { DATA_DIR: dir, DATABASE_STARTUP_TIMEOUT: '0.5' } }), (error: Error) => isDatabaseUnavailable((error.cause as Error | undefined) ?? error));
      assert.ok(lines.some((l) => l.includes('waiting for the database')), lines.join(''));
      setTimeout(makeWritable, 300);
      server = await startTestServer('sqlite', { logger, env: { DATA_DIR: dir, DATABASE_STARTUP_TIMEOUT: '10' } });
    } finally {
      makeWritable();
    }
    assert.equal((await readiness()).status, 200);
    await signUpThroughRp(server, client, 'after-readonly@example.com', 'After Read-only');
  });
});
