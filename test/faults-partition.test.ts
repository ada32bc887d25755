import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient } from '../sdk/passport-client.js';
import { databases, freePort, type TestServer } from './support/server.js';
import { pgSchema, spawnServer, stopServer, withPg, type ChildServer } from './support/child-server.js';
import { tcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { openEventStream } from './support/sse.js';
import { desktopStarts } from './support/crossdevice.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, openSignInPage, RP_REDIRECT, signUpThroughRp } from './support/flow.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/storage/db.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { randomId } from '../src/ids.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { registerMailbox } from './support/mailbox.js';

/**
 * A network partition between Sesame and PostgreSQL: a proxy on the way stops forwarding bytes
 * without closing a socket, so nobody is told anything. Requests must fail within the statement
 * timeout, not hang; afterwards everything, the LISTEN connection included, must work again.
 */
const hasPostgres = (await databases()).includes('postgres');

const STATEMENT_TIMEOUT_S = 1;
const CONNECT_TIMEOUT_S = 0.5;
/**
 * The bound on a request during the partition: one statement's timeout (plus the second pg waits
 * beyond it), and one failed connection attempt (oidc-provider's error path looks the client up
 * again), with some slack for a busy test machine.
 */
const FAIL_WITHIN_MS = (STATEMENT_TIMEOUT_S + 1 + CONNECT_TIMEOUT_S) * 1000 + 1_500;

describe('network partition between Sesame and PostgreSQL', { skip: !hasPostgres && 'PostgreSQL not reachable' }, () => {
  const applicationName = `sesame_partition_${randomId(8).toLowerCase().replace(/[^a-z0-9]/g, '')}`;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let server: ChildServer;
  let proxy: TcpProxy;
  let client: Client;
  const phoneKey = new SoftwareAuthenticator();

  before(async () => {
    const { databaseUrl, drop } = await pgSchema();
    cleanups.push(drop);
    const url = new URL(databaseUrl);
    proxy = tcpProxy(await freePort(), { host: url.hostname, port: Number(url.port || 5432) });
    cleanups.push(() => proxy.close());
    await proxy.listen();
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const secretKey = randomBytes(32);
    server = await spawnServer({
      DATABASE_URL: url.href,
      SESAME_SECRET_KEY: secretKey.toString('base64url'),
      DATABASE_STATEMENT_TIMEOUT: String(STATEMENT_TIMEOUT_S),
      DATABASE_CONNECT_TIMEOUT: String(CONNECT_TIMEOUT_S),
      DATABASE_APPLICATION_NAME: applicationName,
    });
    cleanups.push(() => stopServer(server));
    // The test's own connection goes straight to PostgreSQL, around the proxy.
    const inspect: Database = await openDatabase({ databaseUrl, dataDir: '', secrets: new SecretBox(secretKey) });
    cleanups.push(() => inspect.close());
    const config = loadConfig({ DATABASE_URL: databaseUrl, PUBLIC_URL: server.origin, LOG_LEVEL: 'silent', DATA_DIR: server.dataDir });
    const services = createServices(config, inspect, createLogger('silent'));
    registerMailbox(server.origin, services); // sign-ups read their e-mail code from the child's outbox
    client = await services.tenants.createClient({ tenantId: 'demo', name: 'Partition RP', redirectUris: [RP_REDIRECT] });
    await signUpThroughRp(server as never as TestServer, client, 'phone@example.com', 'Phone Owner', phoneKey);
  });
  after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

  /** A request during the partition: it must be answered (not hang) with 503 and Retry-After. */
  const unavailableInTime = async (what: string, send: (signal: AbortSignal) => Promise<Response | { status: number; headers: Headers }>) => {
    const response = await send(AbortSignal.timeout(FAIL_WITHIN_MS)).catch((error) => {
      throw new Error(`${what}: no answer within ${FAIL_WITHIN_MS} ms during the partition (${error.name})`);
    });
    assert.equal(response.status, 503, what);
    assert.equal(response.headers.get('retry-after'), '5', what);
    return response;
  };

  const duringPartition = async () => {
    // A sign-in page opened before the partition, whose next step then meets it.
    const ua = new UserAgent(server.origin);
    const { base } = await openSignInPage(ua, authorizeUrl(server as never, client));
    proxy.blackhole();
    const answers = await Promise.all([
      // oidc-provider's own endpoint, twice at once, and Sesame's JSON API.
      unavailableInTime('GET /auth', (signal) => fetch(authorizeUrl(server as never, client), { redirect: 'manual', signal })),
      unavailableInTime('GET /auth', (signal) => fetch(authorizeUrl(server as never, client), { redirect: 'manual', signal })),
      unavailableInTime('POST signin/options', (signal) => ua.postJson(`${base}/signin/options`, {}, { signal })),
    ]);
    const readyz = await fetch(`${server.origin}/readyz`, { signal: AbortSignal.timeout(2_000) });
    assert.equal(readyz.status, 503);
    assert.ok((await readyz.json()).failed.includes('database'));
    // Requests that find the pool's connections stuck (not new ones) are bounded too.
    await unavailableInTime('GET /auth again', (signal) => fetch(authorizeUrl(server as never, client), { redirect: 'manual', signal }));
    assert.equal(server.child.exitCode, null, 'the process lives');
    return answers;
  };

  const afterHealing = async (email: string) => {
    const readyBy = Date.now() + 15_000;
    let ready: any;
    while (Date.now() < readyBy) {
      ready = await (await fetch(`${server.origin}/readyz`, { signal: AbortSignal.timeout(2_500) })).json();
      if (ready.status === 'ready') break;
      await sleep(100);
    }
    assert.equal(ready.status, 'ready', JSON.stringify(ready));
    await signUpThroughRp(server as never as TestServer, client, email, 'After The Partition');

    // The desktop's wake-up travels over NOTIFY → the LISTEN connection, which must be alive again.
    const { ua, base, request } = await desktopStarts(server as never, client);
    const events = await openEventStream(`${base}/crossdevice/${request.id}/events`, { cookie: await ua.jar.getCookieString(`${base}/crossdevice/`) });
    try {
      await events.waitFor((e) => e.event === 'status');
      const approvedAt = Date.now();
      await new PassportClient(phoneKey).approve(request.link, request.number);
      await events.waitFor((e) => e.event === 'status' && JSON.parse(e.data).status === 'approved');
      // The stream re-reads on its own only every 15 s: an answer well before that came from NOTIFY.
      assert.ok(Date.now() - approvedAt < 10_000, 'woken by LISTEN/NOTIFY, not by the periodic re-check');
    } finally {
      events.close();
    }
  };

  test('requests fail fast with 503 during the partition and succeed after it heals', { timeout: 40_000 }, async () => {
    await duringPartition();
    await sleep(500);
    proxy.heal();
    await afterHealing('after-partition@example.com');
    assert.ok(server.logs.some((l) => l.msg === 'request failed: database unavailable'));
  });

  test('PostgreSQL drops the connections during the partition: every dead one is replaced after healing', { timeout: 40_000 }, async () => {
    await duringPartition();
    // As when PostgreSQL restarts, or its keepalives give up, while the network is down: the
    // sockets on Sesame's side stay open, and only a write after healing meets the reset.
    await withPg(async (admin) => {
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName]);
      // Termination is a signal: wait until the backends are gone before the network comes back.
      while ((await admin.query('select 1 from pg_stat_activity where application_name = $1', [applicationName])).rowCount) await sleep(20);
    });
    proxy.heal();
    await afterHealing('after-dropped@example.com');
  });
});
