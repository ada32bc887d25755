import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { OutboundClient, OutboundError } from '../src/net/outbound.js';
import { isPublicAddress } from '../src/net/address-policy.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient, PassportError } from '../sdk/passport-client.js';
import { localhostCertificate } from './support/tls.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createClient, signUpThroughRp } from './support/flow.js';
import { desktopStarts } from './support/crossdevice.js';

const tls = localhostCertificate();

/** An https server on localhost whose handler the test chooses; `hits` counts the requests it saw. */
async function httpsServer(handler: http.RequestListener) {
  const hits: string[] = [];
  const server = https.createServer(tls, (req, res) => { hits.push(req.url ?? ''); handler(req, res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { hits, port: (server.address() as AddressInfo).port, close: () => { server.closeAllConnections(); server.close(); } };
}

const rejectsWith = (reason: OutboundError['reason']) => (error: unknown) => {
  assert.ok(error instanceof OutboundError, String(error));
  assert.equal(error.reason, reason, error.message);
  return true;
};

describe('outbound requests', () => {
  const allowed = () => new OutboundClient({ allowPrivate: ['localhost', '127.0.0.1'], extraCa: tls.cert, connectTimeoutMs: 500, totalTimeoutMs: 500, maxResponseBytes: 64 * 1024 });

  test('an allowed host answers', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'));
    const client = allowed();
    try {
      const response = await client.request({ url: `https://localhost:${server.port}/hook`, body: '{}' });
      assert.equal(response.status, 200);
      assert.equal(response.body.toString(), 'ok');
    } finally {
      client.close();
      server.close();
    }
  });

  test('a redirect is an answer, never followed', async () => {
    const server = await httpsServer((req, res) => {
      if (req.url === '/start') res.writeHead(307, { location: `/elsewhere` }).end();
      else res.end('followed');
    });
    const client = allowed();
    try {
      const response = await client.request({ url: `https://localhost:${server.port}/start` });
      assert.equal(response.status, 307);
      assert.deepEqual(server.hits, ['/start']);
    } finally {
      client.close();
      server.close();
    }
  });

  test('a name that resolves to a private address is refused without the allow-list, before any connection', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'));
    const client = new OutboundClient({ allowPrivate: [], extraCa: tls.cert });
    try {
      await assert.rejects(client.request({ url: `https://localhost:${server.port}/` }), rejectsWith('not_public'));
      await assert.rejects(client.request({ url: `https://127.0.0.1:${server.port}/` }), rejectsWith('not_public'));
      await assert.rejects(client.request({ url: `https://[::ffff:127.0.0.1]:${server.port}/` }), rejectsWith('not_public'));
      await assert.rejects(client.request({ url: `https://[::1]:${server.port}/` }), rejectsWith('not_public'));
      assert.deepEqual(server.hits, []);
    } finally {
      client.close();
      server.close();
    }
  });

  test('every address of a name must be allowed: allowing another address does not let localhost through', async () => {
    const server = await httpsServer((_req, res) => res.end('ok'));
    const client = new OutboundClient({ allowPrivate: ['10.0.0.1'], extraCa: tls.cert });
    try {
      await assert.rejects(client.request({ url: `https://localhost:${server.port}/` }), rejectsWith('not_public'));
      assert.deepEqual(server.hits, []);
    } finally {
      client.close();
      server.close();
    }
  });

  test('http:// is refused and never sent', async () => {
    const hits: string[] = [];
    const plain = http.createServer((req, res) => { hits.push(req.url ?? ''); res.end(); });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const client = allowed();
    try {
      await assert.rejects(client.request({ url: `http://localhost:${(plain.address() as AddressInfo).port}/` }), rejectsWith('not_https'));
      await assert.rejects(client.request({ url: 'https://user:secret@localhost/' }), rejectsWith('not_https'));
      assert.deepEqual(hits, []);
    } finally {
      client.close();
      plain.close();
    }
  });

  test('a server that never answers times out', async () => {
    const server = await httpsServer(() => { /* holds the request open */ });
    const client = allowed();
    try {
      await assert.rejects(client.request({ url: `https://localhost:${server.port}/slow` }), rejectsWith('timeout'));
    } finally {
      client.close();
      server.close();
    }
  });

  test('a server that accepts the connection but never completes TLS times out', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = allowed();
    try {
      await assert.rejects(client.request({ url: `https://localhost:${(silent.address() as AddressInfo).port}/` }), rejectsWith('timeout'));
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('a huge answer is cut off after the cap and the connection dropped', async () => {
    let finishedWriting: boolean | undefined;
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => { closed = resolve; });
    const server = await httpsServer((_req, res) => {
      res.on('close', () => { finishedWriting = res.writableFinished; closed(); });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 1024 && res.write(chunk)) sent += 1;
        if (sent < 1024) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    const client = allowed();
    try {
      await assert.rejects(client.request({ url: `https://localhost:${server.port}/huge` }), rejectsWith('too_large'));
      await connectionClosed;
      assert.equal(finishedWriting, false, 'the 64 MB answer was not read to the end');
    } finally {
      client.close();
      server.close();
    }
  });

  test('public and non-public addresses', () => {
    for (const address of ['8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '64:ff9b::808:808']) assert.ok(isPublicAddress(address), address);
    for (const address of ['127.0.0.1', '10.1.2.3', '100.64.0.1', '169.254.169.254', '172.16.0.1', '192.168.1.1', '0.0.0.0', '224.0.0.1',
      '255.255.255.255', '::', '::1', 'fd00::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:a00:1', '64:ff9b::a00:1', 'not-an-ip']) {
      assert.ok(!isPublicAddress(address), address);
    }
  });
});

describe('push subscriptions and webhooks under the default outbound rules', () => {
  let server: TestServer;
  const laptop = new SoftwareAuthenticator();
  const keys = { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' };

  before(async () => {
    server = await startTestServer('sqlite');
    await signUpThroughRp(server, await createClient(server), 'lin@example.com', 'Lin', laptop);
  });
  after(() => server.close());

  test('a subscription outside the known push services is refused with a 400, and nothing is enrolled', async () => {
    for (const endpoint of ['https://push.attacker.example/p/1', 'https://localhost:9/push/1', 'https://fcm.googleapis.com.attacker.example/x']) {
      await assert.rejects(new PassportClient(laptop).enrolWithPasskey(server.origin, 'demo', 'Phone', { endpoint, keys }), (error: PassportError) => {
        assert.equal(error.status, 400);
        assert.equal(error.code, 'unsupported_push_service');
        assert.match(error.message, /not from a known browser push service/);
        return true;
      });
    }
    assert.equal((await server.services.database.db.selectFrom('passport_devices').select('id').execute()).length, 0);
  });

  test('known push services are accepted, and a device cannot switch to another host', async () => {
    const phone = new PassportClient(laptop);
    await phone.enrolWithPasskey(server.origin, 'demo', 'Phone', { endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys });
    await phone.setPushSubscription({ endpoint: 'https://web.push.apple.com/QGuQyavXutnMH', keys });
    await assert.rejects(phone.setPushSubscription({ endpoint: 'https://169.254.169.254/latest/meta-data', keys }), (error: PassportError) => error.status === 400);
  });

  test('a webhook on a private address or over http is not called', async () => {
    const hits: string[] = [];
    const hook = https.createServer(tls, (req, res) => { hits.push(req.url ?? ''); res.end(); });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const client = await createClient(server);
      for (const url of [`https://localhost:${(hook.address() as AddressInfo).port}/hook`, `http://localhost:${(hook.address() as AddressInfo).port}/hook`]) {
        await server.services.tenants.setWebhook('demo', url);
        await server.services.database.db.deleteFrom('crossdevice_events').where('type', '=', 'push_requested').execute();
        const { request } = await desktopStarts(server, client, { email: 'lin@example.com', push: true });
        const events = await server.services.crossDeviceRequests.eventsFor('demo', request.id);
        const failed = events.find((e) => e.type === 'webhook_failed');
        assert.ok(failed, JSON.stringify(events));
        assert.match(failed.detail ?? '', url.startsWith('http:') ? /Only https:/ : /not a public address/);
      }
      assert.deepEqual(hits, []);
    } finally {
      await server.services.tenants.setWebhook('demo', null);
      hook.close();
    }
  });
});
