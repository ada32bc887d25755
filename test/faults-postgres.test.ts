import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient } from '../sdk/passport-client.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { withPg } from './support/child-server.js';
import { openEventStream } from './support/sse.js';
import { desktopStarts } from './support/crossdevice.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, signUpThroughRp } from './support/flow.js';
import { randomId } from '../src/ids.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * PostgreSQL backends die under load (as in a restart, failover or network reset). Only this
 * test's connections are terminated, found by their application_name: the PostgreSQL server is
 * shared and must never be stopped.
 */
const hasPostgres = (await databases()).includes('postgres');

describe('PostgreSQL connections terminated under load', { skip: !hasPostgres && 'PostgreSQL not reachable' }, () => {
  const applicationName = `sesame_faults_${randomId(8).toLowerCase().replace(/[^a-z0-9]/g, '')}`;
  const logLines: Array<Record<string, any>> = [];
  let server: TestServer;
  let client: Client;

  before(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { logLines.push(JSON.parse(String(chunk))); done(); } });
    server = await startTestServer('postgres', {
      logger: pino({ level: 'info', base: undefined }, sink),
      env: { DATABASE_APPLICATION_NAME: applicationName, DATABASE_STATEMENT_TIMEOUT: '2', DATABASE_CONNECT_TIMEOUT: '2' },
    });
    client = await createClient(server);
  });
  after(() => server?.close());

  const terminateOurBackends = () => withPg((admin) => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName]));

  test('requests fail with 503 during the fault, the process lives on, and everything recovers', async () => {
    const phoneKey = new SoftwareAuthenticator();
    await signUpThroughRp(server, client, 'phone@example.com', 'Phone Owner', phoneKey);

    // Sign-in starts: oidc-provider's /auth (its own error handling) and our JSON API.
    const answers: Array<{ status: number; retryAfter: string | null; requestId: string | null }> = [];
    let loading = true;
    const load = async () => {
      while (loading) {
        const ua = new UserAgent(server.origin);
        const page = await ua.follow(authorizeUrl(server, client));
        answers.push({ status: page.status, retryAfter: page.headers.get('retry-after'), requestId: page.headers.get('x-request-id') });
        const base = /\/demo\/interaction\/[^/?#]+/.exec(page.url)?.[0];
        if (page.status !== 200 || !base) continue;
        const options = await ua.postJson(`${server.origin}${base}/signin/options`, {});
        answers.push({ status: options.status, retryAfter: options.headers.get('retry-after'), requestId: options.headers.get('x-request-id') });
      }
    };
    const loaders = [load(), load(), load(), load()];

    // Kill our connections over and over until requests have seen the outage (bounded).
    const faultDeadline = Date.now() + 15_000;
    let kills = 0;
    while ((kills < 20 || !answers.some((a) => a.status === 503)) && Date.now() < faultDeadline) {
      await terminateOurBackends();
      kills += 1;
      await sleep(20);
    }
    loading = false;
    await Promise.all(loaders);

    const unavailable = answers.filter((a) => a.status === 503);
    assert.ok(unavailable.length > 0, 'some requests met the outage');
    assert.deepEqual([...new Set(answers.map((a) => a.status))].sort(), [200, 503], 'every answer was a success or a 503, never a 500');
    for (const answer of unavailable) {
      assert.equal(answer.retryAfter, '5');
      // Logged once, with its request id, wherever it failed (our routes or inside oidc-provider).
      assert.equal(logLines.filter((l) => l.requestId === answer.requestId && l.msg === 'request failed: database unavailable').length, 1, JSON.stringify(answer));
    }
    assert.ok(logLines.some((l) => l.msg === 'request failed: database unavailable' && l.tenant === 'demo'));

    // Recovery, including the LISTEN connection (readiness checks it).
    const readyBy = Date.now() + 15_000;
    let ready: any;
    while (Date.now() < readyBy) {
      ready = await (await fetch(`${server.origin}/readyz`)).json();
      if (ready.status === 'ready') break;
      await sleep(100);
    }
    assert.equal(ready.status, 'ready', JSON.stringify(ready));
    await signUpThroughRp(server, client, 'after@example.com', 'After The Fault');

    // The desktop's wake-up travels over NOTIFY → the re-established LISTEN connection.
    const { ua, base, request } = await desktopStarts(server, client);
    const events = await openEventStream(`${base}/crossdevice/${request.id}/events`, { cookie: await ua.jar.getCookieString(`${base}/crossdevice/`) });
    try {
      await events.waitFor((e) => e.event === 'status');
      const approvedAt = Date.now();
      await new PassportClient(phoneKey).approve(request.link, request.number);
      await events.waitFor((e) => e.event === 'status' && JSON.parse(e.data).status === 'approved');
      // The stream re-reads on its own only every 30 s: an answer well before that came from NOTIFY.
      assert.ok(Date.now() - approvedAt < 10_000, 'woken by LISTEN/NOTIFY, not by the periodic re-check');
    } finally {
      events.close();
    }
  });

  test('readiness names the LISTEN connection while it is down', async () => {
    await terminateOurBackends();
    // Right after the kill the LISTEN connection is reconnecting (its first retry waits ≥ 187 ms).
    const body = await (await fetch(`${server.origin}/readyz`)).json();
    assert.ok(body.failed.includes('listen'), JSON.stringify(body));
    assert.equal(body.checks.listen.ok, false);
  });
});
