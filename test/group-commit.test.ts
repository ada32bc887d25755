import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { GroupCommit, walSync, whenDurable } from '../src/storage/group-commit.js';
import { openDatabase } from '../src/storage/db.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { isDatabaseUnavailable } from '../src/storage/unavailable.js';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, signIn, signUpThroughRp } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** A sync the test finishes by hand: each call waits until `release()` or `fail()`. */
function manualSync() {
  const calls: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  let notify: (() => void) | undefined;
  return {
    calls,
    sync: () => new Promise<void>((resolve, reject) => {
      calls.push({ resolve, reject });
      notify?.();
    }),
    /** Resolves when the sync has been called `count` times in all. */
    called: (count: number) => new Promise<void>((resolve) => {
      const check = () => { if (calls.length >= count) { notify = undefined; resolve(); } };
      notify = check;
      check();
    }),
  };
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => { done = true; }, () => { done = true; });
  // Every callback the promise's settling would have queued has run by the next macrotask.
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('group commit: when an answer may go', () => {
  test('a log that is not where it is looked for is a failed sync, not one that found nothing to do', async () => {
    const missing = walSync(path.join(os.tmpdir(), `sesame-no-such-${process.pid}.db-wal`));
    await assert.rejects(missing.sync(), { code: 'ENOENT' });
    await missing.close();
  });

  test('nothing written: no sync, no wait', async () => {
    const disk = manualSync();
    const group = new GroupCommit(disk.sync);
    await group.durable();
    assert.equal(disk.calls.length, 0);
  });

  test('a write waits for a sync that started after it; the requests waiting together share it', async () => {
    const disk = manualSync();
    const group = new GroupCommit(disk.sync);
    group.committedWrite();
    group.committedWrite();
    const first = group.durable();
    const second = group.durable();
    await disk.called(1);
    assert.equal(await settled(first), false, 'answered before its write was on disk');
    disk.calls[0].resolve();
    await Promise.all([first, second]);
    assert.equal(disk.calls.length, 1, 'two waiters, one sync');
    await group.durable();
    assert.equal(disk.calls.length, 1, 'everything is on disk: no second sync');
  });

  test('a write committed while a sync runs waits for the next sync, not the one under way', async () => {
    const disk = manualSync();
    const group = new GroupCommit(disk.sync);
    group.committedWrite();
    const early = group.durable();
    await disk.called(1);
    group.committedWrite();
    const late = group.durable();
    disk.calls[0].resolve();
    await early;
    await disk.called(2);
    assert.equal(await settled(late), false, 'the first sync may have missed the later write');
    disk.calls[1].resolve();
    await late;
  });

  test('a failed sync fails the answers that waited for it (503), and every later one: no later sync can vouch for it', async () => {
    const disk = manualSync();
    const group = new GroupCommit(disk.sync);
    group.committedWrite();
    const waiting = group.durable();
    await disk.called(1);
    // A write committed while the failing sync runs waits for the next one.
    group.committedWrite();
    const queued = group.durable();
    disk.calls[0].reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const error = await waiting.then(() => undefined, (caught: unknown) => caught);
    assert.ok(error, 'the answer went out although its write may not be on disk');
    assert.equal(isDatabaseUnavailable(error), true, 'a failed sync is the database being unavailable: 503');
    // After a failed fsync the kernel may have dropped the log's pages: a later fsync that succeeds
    // does not put them on disk, and SQLite's recovery stops at the first frame that is not there,
    // losing every frame after it. Nothing committed since can be answered as durable.
    const outcome = (promise: Promise<void>) => promise.then(() => 'answered', (caught: unknown) => (isDatabaseUnavailable(caught) ? 'unavailable' : caught));
    const queuedOutcome = outcome(queued);
    assert.equal(await settled(queued), true, 'a write queued behind the failed sync waits for a sync that cannot vouch for it');
    assert.equal(await queuedOutcome, 'unavailable');
    group.committedWrite();
    const later = group.durable();
    const laterOutcome = outcome(later);
    assert.equal(await settled(later), true, 'a later write waits for a sync that cannot vouch for it');
    assert.equal(await laterOutcome, 'unavailable');
    assert.equal(disk.calls.length, 1, 'synced again after a failed sync');
  });
});

/**
 * The server holds its answers until the write-ahead log is on disk: here the server's own
 * fdatasync of the log is held back by the test, as a slow disk would.
 */
describe('group commit in the server (SQLite)', () => {
  let server: TestServer;
  let client: Client;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-group-commit-'));
  const walFile = path.join(dataDir, 'sesame.db-wal');
  let fileHandlePrototype: { datasync: () => Promise<void> };
  let datasync: () => Promise<void>;
  /** While set, syncs of the log wait for this promise (or fail with its error). */
  let hold: Promise<void> | undefined;
  let syncsOfLog = 0;
  let onHeld: (() => void) | undefined;
  /** Resolves when a sync of the log is being held back. */
  const held = () => new Promise<'held'>((resolve) => { onHeld = () => { onHeld = undefined; resolve('held'); }; });

  before(async () => {
    const probe = await fs.promises.open(os.devNull, 'r');
    fileHandlePrototype = Object.getPrototypeOf(probe);
    await probe.close();
    datasync = fileHandlePrototype.datasync;
    fileHandlePrototype.datasync = async function heldDatasync(this: fs.promises.FileHandle & { path?: string }) {
      const result = await datasync.call(this);
      if (this.fd >= 0 && fs.readlinkSync(`/proc/self/fd/${this.fd}`) === walFile) {
        syncsOfLog += 1;
        if (hold) {
          onHeld?.();
          await hold;
        }
      }
      return result;
    };
    server = await startTestServer('sqlite', { env: { DATA_DIR: dataDir } });
    client = await createClient(server);
  });
  after(async () => {
    fileHandlePrototype.datasync = datasync;
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a sign-in works, and its answers that wrote waited for a sync of the log', async () => {
    const before = syncsOfLog;
    const { authenticator } = await signUpThroughRp(server, client, 'grouped@example.com', 'Grouped');
    assert.ok(syncsOfLog > before, 'no sync of the write-ahead log');
    const ua = new UserAgent(server.origin);
    const { base } = await openSignInPage(ua, authorizeUrl(server, client));
    const redirect = await signIn(ua, authenticator, base);
    const { params } = await finishAtRp(ua, redirect);
    assert.equal((await exchangeCode(server, client, params.code)).status, 200);
  });

  test('an answer is not sent while the sync of its writes is held back', async () => {
    let release!: () => void;
    hold = new Promise<void>((resolve) => { release = resolve; });
    const ua = new UserAgent(server.origin);
    const syncing = held();
    // The authorization request writes (its rate-limit count, the interaction) before it redirects.
    const answer = ua.get(authorizeUrl(server, client));
    let early: boolean;
    try {
      const first = await Promise.race([syncing, answer.then(() => 'answered')]);
      assert.equal(first, 'held', 'the redirect went out without waiting for a sync of the log');
      // The sync has reached the disk and is held: the redirect must still be waiting.
      await new Promise((resolve) => setTimeout(resolve, 300));
      early = await settled(answer);
    } finally {
      hold = undefined;
      release();
    }
    assert.equal(early, false, 'the redirect went out before the interaction was on disk');
    const response = await answer;
    assert.equal(response.status, 303);
  });

  test('requests at the same time share syncs', async () => {
    const before = syncsOfLog;
    let release!: () => void;
    hold = new Promise<void>((resolve) => { release = resolve; });
    const syncing = held();
    const answers = Array.from({ length: 8 }, () => new UserAgent(server.origin).get(authorizeUrl(server, client)));
    try {
      assert.equal(await Promise.race([syncing, Promise.all(answers).then(() => 'answered')]), 'held', 'answers went out without a sync');
      // While the first sync is held, the other requests commit and line up for the next one.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      hold = undefined;
      release();
    }
    const responses = await Promise.all(answers);
    assert.deepEqual(responses.map((r) => r.status), Array(8).fill(303));
    assert.ok(syncsOfLog - before <= 3, `8 answers took ${syncsOfLog - before} syncs`);
  });

  test('a sync that fails answers 503 with Retry-After, and so does every later request until a restart (last: it takes the server down)', async () => {
    hold = Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    hold.catch(() => undefined);
    const ua = new UserAgent(server.origin);
    let failed;
    try {
      failed = await ua.get(authorizeUrl(server, client));
    } finally {
      hold = undefined;
    }
    assert.equal(failed.status, 503);
    assert.ok(failed.headers.get('retry-after'));
    assert.doesNotMatch(failed.text, /at .*\.(ts|js):\d+/, 'a stack trace in the answer');
    // The log's pages that failed to sync may be gone from the disk: no later sync can vouch for them.
    const again = await new UserAgent(server.origin).get(authorizeUrl(server, client));
    assert.equal(again.status, 503, 'answered as if the writes before the failed sync were on disk');
    assert.equal((await fetch(`${server.origin}/readyz`)).status, 503, 'a load balancer would still send requests here');
  });
});

describe('group commit with the database file behind a symbolic link', () => {
  test('the log synced is the one SQLite writes, next to the real file', async () => {
    // SQLite follows a symbolic link to the database and keeps its log beside the real file.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-group-commit-link-'));
    const realDir = path.join(root, 'volume');
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(realDir);
    fs.mkdirSync(dataDir);
    fs.symlinkSync(path.join(realDir, 'sesame.db'), path.join(dataDir, 'sesame.db'));
    const probe = await fs.promises.open(os.devNull, 'r');
    const prototype: { datasync: () => Promise<void> } = Object.getPrototypeOf(probe);
    await probe.close();
    const datasync = prototype.datasync;
    const synced: string[] = [];
    prototype.datasync = function recordedDatasync(this: fs.promises.FileHandle) {
      synced.push(fs.readlinkSync(`/proc/self/fd/${this.fd}`));
      return datasync.call(this);
    };
    const database = await openDatabase({ dataDir, secrets: new SecretBox(randomBytes(32)), groupCommit: true });
    try {
      await sql`insert into readiness_probe (node, checked_at) values ('linked', ${Date.now()})`.execute(database.db);
      await whenDurable(database.db);
      assert.ok(fs.existsSync(path.join(realDir, 'sesame.db-wal')), 'SQLite wrote its log elsewhere');
      assert.deepEqual(synced, [path.join(realDir, 'sesame.db-wal')], 'the write was answered as durable without a sync of its log');
    } finally {
      prototype.datasync = datasync;
      await database.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
