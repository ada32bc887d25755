import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { spawnServer, stopServer, type ChildServer } from './support/child-server.js';
import { openEventStream } from './support/sse.js';
import { desktopStarts } from './support/crossdevice.js';
import { RP_REDIRECT } from './support/flow.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/storage/db.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { randomBytes } from 'node:crypto';

/** SIGTERM, as sent by an orchestrator that replaces this node: no request is dropped, and the process exits. */
describe('graceful shutdown', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

  const start = async (env: Record<string, string>) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-shutdown-'));
    const secretKey = randomBytes(32);
    const server = await spawnServer({ DATA_DIR: dataDir, SESAME_SECRET_KEY: secretKey.toString('base64url'), ...env });
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    cleanups.push(() => stopServer(server));
    const database: Database = await openDatabase({ dataDir, secrets: new SecretBox(secretKey) });
    cleanups.push(() => database.close());
    const config = loadConfig({ DATA_DIR: dataDir, PUBLIC_URL: server.origin, LOG_LEVEL: 'silent' });
    const client = await createServices(config, database, createLogger('silent')).tenants.createClient({ tenantId: 'demo', name: 'Shutdown RP', redirectUris: [RP_REDIRECT] });
    return { server, client };
  };

  /**
   * Starts a POST on `agent` and sends only half its body: the server holds it in flight until
   * `finish`. Resolves once the server has the request (its "100 Continue" says so).
   */
  const halfSentRequest = async (server: ChildServer, agent: http.Agent) => {
    const body = Buffer.from(JSON.stringify({ note: 'sent in two halves' }));
    const request = http.request(`${server.origin}/healthz`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, origin: server.origin, expect: '100-continue' },
    });
    const accepted = once(request, 'continue');
    request.flushHeaders();
    const response = once(request, 'response').then(async ([res]) => {
      (res as http.IncomingMessage).resume();
      await once(res, 'end');
      return res as http.IncomingMessage;
    });
    await accepted;
    request.write(body.subarray(0, 5));
    return { response, finish: () => request.end(body.subarray(5)) };
  };

  const get = (url: string, agent: http.Agent) => new Promise<{ res: http.IncomingMessage; closed: Promise<unknown> }>((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const closed = once(res.socket, 'close');
      res.resume();
      res.on('end', () => resolve({ res, closed }));
    });
    req.on('error', reject);
  });

  test('SIGTERM: event streams are told to reconnect, in-flight requests finish with Connection: close, exit 0', { timeout: 30_000 }, async () => {
    const { server, client } = await start({ SHUTDOWN_TIMEOUT: '5' });
    const { ua, base, request } = await desktopStarts(server as never, client);
    const events = await openEventStream(`${base}/crossdevice/${request.id}/events`, { cookie: await ua.jar.getCookieString(`${base}/crossdevice/`) });
    cleanups.push(() => events.close());
    await events.waitFor((e) => e.event === 'status');

    // An idle keep-alive connection, and a busy one (one connection per agent, so the second request reuses it).
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const busyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => { idleAgent.destroy(); busyAgent.destroy(); });
    const idle = await get(`${server.origin}/healthz`, idleAgent);
    assert.equal(idle.res.headers.connection, 'keep-alive');
    assert.equal((await get(`${server.origin}/healthz`, busyAgent)).res.headers.connection, 'keep-alive');
    const inFlight = await halfSentRequest(server, busyAgent);

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    await events.waitFor((e) => e.event === 'reconnect');
    await events.ended;
    await idle.closed;
    assert.equal(server.child.exitCode, null, 'the in-flight request holds the process');

    inFlight.finish();
    const response = await inFlight.response;
    assert.equal(response.statusCode, 404); // POST /healthz is not an endpoint: what matters is that it was answered
    assert.equal(response.headers.connection, 'close');
    const { code } = await server.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - signalledAt < 5_000 + 2_000, 'exited within SHUTDOWN_TIMEOUT');
    assert.ok(server.logs.some((l) => l.msg === 'shut down cleanly'));
  });

  test('a second SIGTERM exits at once, without waiting for in-flight requests', { timeout: 30_000 }, async () => {
    const { server } = await start({ SHUTDOWN_TIMEOUT: '60' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    await get(`${server.origin}/healthz`, agent);
    const inFlight = await halfSentRequest(server, agent);
    inFlight.response.catch(() => undefined); // the connection is cut: that is the point
    server.child.kill('SIGTERM');
    while (!server.logs.some((l) => String(l.msg).startsWith('shutting down'))) await new Promise((r) => setTimeout(r, 20));
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    assert.equal(code, 1);
    assert.ok(server.logs.some((l) => String(l.msg).startsWith('second signal')));
  });
});
