import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { databases, freePort } from './support/server.js';
import { pgSchema, spawnServer, stopServer, waitReady, type ChildServer } from './support/child-server.js';
import { tcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/**
 * Sesame starts before PostgreSQL accepts connections (both started together by an orchestrator,
 * or PostgreSQL restarting): it waits and says so, instead of exiting into a crash loop, and gives
 * up with a clear message after DATABASE_STARTUP_TIMEOUT. The database sits behind a local proxy
 * whose port refuses connections until the test lets it listen.
 */
const hasPostgres = (await databases()).includes('postgres');

describe('start-up while PostgreSQL does not accept connections yet', { skip: !hasPostgres && 'PostgreSQL not reachable' }, () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

  /**
   * A DATABASE_URL to a fresh schema, through a proxy port that refuses connections for now, and a port
   * for Sesame that is not the proxy's: nothing listens on the proxy's port yet, so a free-port lookup
   * for the server could hand out that same port (seen once: "port … is already in use").
   */
  const databaseBehindProxy = async (): Promise<{ url: string; proxy: TcpProxy; serverPort: number }> => {
    const { databaseUrl, drop } = await pgSchema();
    cleanups.push(drop);
    const url = new URL(databaseUrl);
    const proxy = tcpProxy(await freePort(), { host: url.hostname, port: Number(url.port || 5432) });
    cleanups.push(() => proxy.close());
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    let serverPort = await freePort();
    while (serverPort === proxy.port) serverPort = await freePort();
    return { url: url.href, proxy, serverPort };
  };

  const waitForLog = async (server: ChildServer, match: (line: Record<string, any>) => boolean) => {
    while (!server.logs.some(match)) {
      if (server.child.exitCode !== null) throw new Error(`the server exited (${server.child.exitCode}): ${server.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('waits for the database, logging why, and becomes ready once it accepts connections', { timeout: 30_000 }, async () => {
    const { url, proxy, serverPort } = await databaseBehindProxy();
    const server = await spawnServer({ DATABASE_URL: url, DATABASE_STARTUP_TIMEOUT: '30', SESAME_SECRET_KEY: randomBytes(32).toString('base64url') }, { port: serverPort, waitReady: false });
    cleanups.push(() => stopServer(server));

    const waiting = (l: Record<string, any>) => String(l.msg).startsWith('waiting for the database');
    await waitForLog(server, waiting);
    const line = server.logs.find(waiting)!;
    assert.equal(line.cause, 'ECONNREFUSED');
    assert.equal(line.location, `127.0.0.1:${proxy.port}/test`, 'names the database, without credentials');
    // Several attempts, and the process is still there.
    await waitForLog(server, (l) => server.logs.filter(waiting).length >= 3);
    assert.equal(server.child.exitCode, null);

    await proxy.listen();
    await waitReady(server, 15_000);
    const ready = await (await fetch(`${server.origin}/readyz`)).json();
    assert.equal(ready.status, 'ready', JSON.stringify(ready));
    assert.ok(proxy.accepted > 0, 'the database was reached through the proxy');
  });

  test('gives up after DATABASE_STARTUP_TIMEOUT with a clear message and a non-zero exit code', { timeout: 30_000 }, async () => {
    const { url, serverPort } = await databaseBehindProxy();
    const startedAt = Date.now();
    const server = await spawnServer({ DATABASE_URL: url, DATABASE_STARTUP_TIMEOUT: '1.5', SESAME_SECRET_KEY: randomBytes(32).toString('base64url') }, { port: serverPort, waitReady: false });
    cleanups.push(() => stopServer(server));
    const { code } = await server.exited;
    assert.equal(code, 1);
    assert.match(server.stderr(), /Sesame cannot start: the database did not become available within 1\.5 s \(DATABASE_STARTUP_TIMEOUT\): connect ECONNREFUSED 127\.0\.0\.1:\d+/);
    assert.ok(server.logs.some((l) => String(l.msg).startsWith('waiting for the database')), 'it did wait');
    assert.ok(Date.now() - startedAt >= 1_500, 'not before the timeout');
  });
});
