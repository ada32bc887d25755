import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { loadConfig } from '../src/config.js';
import { clientIpResolver } from '../src/http/client-ip.js';
import { startTestServer } from './support/server.js';

/** An https deployment needs the key for secrets at rest. */
const SECRET_KEY = randomBytes(32).toString('base64url');

/** The settings a deployment depends on (docs/deploy.md): safe when left out, honest when set. */
describe('deployment settings', () => {
  test('TRUST_PROXY: hops, proxy lists, and the old true/false', () => {
    assert.equal(loadConfig({}).trustProxy, 0);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, 0);
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, 1);
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,::1' }).trustProxy, ['10.0.0.5', '10.1.0.0/16', '::1']);
    for (const bad of ['maybe', '10.0.0.0/33', 'proxy.example.com', '-1']) {
      assert.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY must be/, bad);
    }
  });

  test('the client IP is the address the nearest trusted proxy saw, never what the client wrote', () => {
    const none = clientIpResolver(0);
    assert.equal(none('203.0.113.9', '1.2.3.4'), '203.0.113.9');
    assert.equal(none('::ffff:203.0.113.9', undefined), '203.0.113.9');
    const oneHop = clientIpResolver(1);
    assert.equal(oneHop('10.0.0.2', '1.2.3.4, 198.51.100.7'), '198.51.100.7', 'the spoofed leftmost entry is ignored');
    assert.equal(oneHop('10.0.0.2', '198.51.100.7'), '198.51.100.7');
    assert.equal(oneHop('10.0.0.2', undefined), '10.0.0.2');
    const twoHops = clientIpResolver(2);
    assert.equal(twoHops('10.0.0.2', '1.2.3.4, 198.51.100.7, 10.0.0.1'), '198.51.100.7');
    const listed = clientIpResolver(['10.0.0.0/8', '::1']);
    assert.equal(listed('::1', '1.2.3.4, 198.51.100.7, 10.0.0.1'), '198.51.100.7');
    assert.equal(listed('203.0.113.9', '1.2.3.4'), '203.0.113.9', 'an untrusted peer is the client, whatever it forwards');
    assert.equal(listed('10.0.0.2', 'garbage, 198.51.100.7'), '198.51.100.7');
    assert.equal(listed('10.0.0.2', '198.51.100.7, garbage'), '10.0.0.2', 'a garbled entry stops the walk');
  });

  test('the demo tenant is there only on localhost or when asked for', () => {
    assert.equal(loadConfig({}).demo, true);
    assert.equal(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:8080' }).demo, true);
    assert.equal(loadConfig({ PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: SECRET_KEY }).demo, false);
    assert.equal(loadConfig({ PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: SECRET_KEY, SESAME_DEMO: 'true' }).demo, true);
    assert.equal(loadConfig({ SESAME_DEMO: 'false' }).demo, false);
  });

  test('an https deployment serves no demo pages', async () => {
    const server = await startTestServer('sqlite', { env: { PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: SECRET_KEY } });
    try {
      assert.equal((await fetch(`http://localhost:${server.port}/demo-rp/`)).status, 404);
      assert.equal(await server.services.tenants.findTenant('demo'), undefined);
    } finally {
      await server.close();
    }
  });

  test('/metrics: open on localhost, 404 on a deployment, bearer token when METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const local = await startTestServer('sqlite');
    const deployed = await startTestServer('sqlite', { env: { PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: SECRET_KEY } });
    const guarded = await startTestServer('sqlite', { env: { PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: SECRET_KEY, METRICS_TOKEN: token } });
    try {
      assert.equal((await fetch(`${local.origin}/metrics`)).status, 200);
      assert.equal((await fetch(`http://localhost:${deployed.port}/metrics`)).status, 404);
      const url = `http://localhost:${guarded.port}/metrics`;
      assert.equal((await fetch(url)).status, 401);
      assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
      const open = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(open.status, 200);
      assert.match(await open.text(), /process_cpu/);
    } finally {
      await Promise.all([local.close(), deployed.close(), guarded.close()]);
    }
    assert.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
  });

  test('/readyz: the reasons of failed checks only for the operator (localhost, or the METRICS_TOKEN bearer)', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const local = await startTestServer('sqlite');
    const deployed = await startTestServer('sqlite', { env: { PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: SECRET_KEY, METRICS_TOKEN: token } });
    const url = `http://localhost:${deployed.port}/readyz`;
    const readiness = async (target: string, headers: Record<string, string> = {}) => {
      const response = await fetch(target, { headers });
      return { status: response.status, body: await response.json() };
    };
    try {
      assert.deepEqual(await readiness(url), { status: 200, body: { status: 'ready', failed: [] } });
      assert.ok((await readiness(`${local.origin}/readyz`)).body.checks.database.ok, 'a localhost Sesame shows every check');
      // A failed check: the public answer names it and says nothing more.
      deployed.services.draining.start();
      assert.deepEqual(await readiness(url), { status: 503, body: { status: 'unavailable', failed: ['shutdown'] } });
      assert.deepEqual(await readiness(url, { authorization: 'Bearer wrong-token-0123456789' }), { status: 503, body: { status: 'unavailable', failed: ['shutdown'] } });
      const operator = await readiness(url, { authorization: `Bearer ${token}` });
      assert.equal(operator.status, 503);
      assert.equal(operator.body.checks.shutdown.message, 'this node is shutting down');
      assert.equal(operator.body.checks.database.ok, true);
    } finally {
      await Promise.all([local.close(), deployed.close()]);
    }
  });

  test('HOST sets the listen address', async () => {
    const server = await startTestServer('sqlite', { env: { HOST: '127.0.0.1' } });
    const connects = (host: string) => new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port: server.port }, () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    try {
      assert.equal(await connects('127.0.0.1'), true);
      assert.equal(await connects('::1'), false);
    } finally {
      await server.close();
    }
  });

  test('a foreign Host or X-Forwarded-Host/-Proto changes no URL in the discovery document', async () => {
    const server = await startTestServer('sqlite', { env: { TRUST_PROXY: '1' } });
    try {
      const response = await fetch(`${server.origin}/demo/oidc/.well-known/openid-configuration`, {
        headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      });
      const metadata = await response.json() as Record<string, unknown>;
      const urls = Object.entries(metadata).filter(([key]) => key === 'issuer' || key.endsWith('_endpoint') || key.endsWith('_uri'));
      assert.ok(urls.length >= 5);
      for (const [key, value] of urls) assert.ok(String(value).startsWith(`${server.origin}/demo/oidc`), `${key}: ${value}`);
    } finally {
      await server.close();
    }
  });
});
