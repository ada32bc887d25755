import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient, PassportError } from '../sdk/passport-client.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { createClient, exchangeCode, finishAtRp, signUpThroughRp, verifyIdToken } from './support/flow.js';
import { startPushService, type TestPushService } from './support/push-service.js';
import { desktopStarts, enrolmentLink } from './support/crossdevice.js';
import { passportCli } from './support/cli.js';
import { verifyWebhook, SIGNATURE_HEADER } from '../src/crossdevice/webhook-signature.js';
import type { Client } from '../src/storage/repositories/clients.js';

for (const db of await databases()) {
  describe(`Passport enrolment and push (${db})`, () => {
    let server: TestServer;
    let client: Client;
    let pushService: TestPushService;
    const laptop = new SoftwareAuthenticator();
    const phone = new PassportClient(new SoftwareAuthenticator());
    let sub: string;

    before(async () => {
      pushService = await startPushService();
      server = await startTestServer(db, pushService.sesameOptions);
      client = await createClient(server);
      ({ claims: { sub } } = await signUpThroughRp(server, client, 'ada@example.com', 'Ada', laptop) as { claims: { sub: string } });
    });
    after(async () => {
      await server.close();
      await pushService.close();
    });

    test('a phone enrols with the one-time link from the account page', async () => {
      const link = await enrolmentLink(server, laptop);
      assert.match(link, new RegExp(`^${server.origin}/demo/passport/#enrol=[A-Za-z0-9_-]{32}$`));
      const device = await phone.enrolWithLink(link, 'Test phone', pushService.subscribe());
      assert.equal(device.tenant, 'demo');
      assert.ok(device.deviceToken.length >= 43);
      await assert.rejects(new PassportClient(new SoftwareAuthenticator()).enrolWithLink(link, 'Again'), (e: PassportError) => e.status === 401);
      const devices = await server.services.passport.listDevices('demo', sub);
      assert.deepEqual(devices.map((d) => d.name), ['Test phone']);
    });

    test('a push reaches the phone (VAPID-signed, encrypted, only the request id), the phone approves, the desktop signs in', async () => {
      const before = pushService.received.length;
      const { ua, base, started, request } = await desktopStarts(server, client, { email: 'ada@example.com', push: true });
      assert.equal(started.status, 200, started.text);
      assert.equal(request.kind, 'push');
      assert.equal(started.json().delivered, 1, 'one phone reached');
      const [push] = (await pushService.waitFor(before + 1)).slice(before);
      assert.deepEqual(push.payload, { requestId: request.id });
      assert.equal(push.vapid.sub, 'mailto:sesame@localhost');
      assert.ok(push.vapid.exp > Date.now() / 1000);
      assert.equal(push.vapid.publicKey, (await (await fetch(`${server.origin}/demo/passport/api/vapid`)).json()).publicKey);
      assert.equal(push.urgency, 'high');
      assert.ok(Number(push.ttl) > 0 && Number(push.ttl) <= 120);

      const pending = await phone.pendingRequests();
      assert.ok(pending.some((r) => r.id === request.id && r.kind === 'push'));
      await phone.approve(request.id, request.number);
      const done = await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {});
      assert.equal(done.status, 200, done.text);
      const { params } = await finishAtRp(ua, done.json().redirectTo);
      const claims = await verifyIdToken(server, client, (await exchangeCode(server, client, params.code)).body.id_token);
      assert.equal(claims.sub, sub);
      assert.deepEqual(claims.amr, ['mca', 'hwk', 'user', 'mfa']);

      const events = (await server.services.crossDeviceRequests.eventsFor('demo', request.id)).map((e) => e.type);
      assert.deepEqual(events, ['push_requested', 'push_sent', 'approved', 'completed']);
    });

    test('at most three pushes per user per minute', async () => {
      await server.services.database.db.deleteFrom('crossdevice_events').where('type', '=', 'push_requested').execute();
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await desktopStarts(server, client, { email: 'ada@example.com', push: true })).started.status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
    });

    test('push to an account with no enrolled phone says so', async () => {
      await signUpThroughRp(server, client, 'nophone@example.com', 'No Phone');
      const { started } = await desktopStarts(server, client, { email: 'nophone@example.com', push: true });
      assert.equal(started.status, 409);
      assert.equal(started.json().error, 'no_push_device');
    });

    test('the device API says which account the device holds', async () => {
      const device = await (await fetch(`${server.origin}/demo/passport/api/device`, { headers: { authorization: `Bearer ${phone.device!.deviceToken}` } })).json();
      assert.deepEqual(device.account, { email: 'ada@example.com', name: 'Ada' });
      assert.equal(device.name, 'Test phone');
    });

    test('a phone enrolled with notifications off: a push request is still made, listed in its Passport, and the desktop is told so', async () => {
      const quietKey = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'quiet@example.com', 'Quiet', quietKey);
      const quiet = new PassportClient(quietKey);
      await quiet.enrolWithPasskey(server.origin, 'demo', 'Quiet phone');
      const before = pushService.received.length;
      const { ua, base, started, request } = await desktopStarts(server, client, { email: 'quiet@example.com', push: true });
      assert.equal(started.status, 200, started.text);
      assert.equal(started.json().delivered, 0);
      assert.equal(started.json().inPassport, true);
      assert.equal(pushService.received.length, before, 'no notification to send');
      assert.deepEqual((await quiet.pendingRequests()).map((r) => r.id), [request.id]);
      await quiet.approve(request.id, request.number);
      assert.equal((await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {})).status, 200);
      await server.services.database.db.deleteFrom('crossdevice_events').where('type', '=', 'push_requested').execute();
      const notified = await desktopStarts(server, client, { email: 'ada@example.com', push: true });
      assert.equal(notified.started.status, 200, notified.started.text);
      assert.equal(notified.started.json().inPassport, true, 'a notified phone lists it too');
    });

    test('a phone with a passkey enrols with it; device calls need the device token', async () => {
      const other = new PassportClient(laptop);
      const device = await other.enrolWithPasskey(server.origin, 'demo', 'Laptop app');
      assert.ok(device.deviceId);
      const pending = await other.pendingRequests();
      assert.ok(pending.every((r) => r.kind === 'push' && r.status === 'pending'), 'only this user\'s waiting push requests');
      assert.equal((await fetch(`${server.origin}/demo/passport/api/requests`)).status, 401);
      assert.equal((await fetch(`${server.origin}/demo/passport/api/requests`, { headers: { authorization: 'Bearer not-a-real-device-token-000' } })).status, 401);
    });

    test('native apps get a signed webhook', async () => {
      const received: Array<{ body: string; signature: string }> = [];
      const hook = https.createServer(pushService.tls, (req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => { received.push({ body, signature: String(req.headers[SIGNATURE_HEADER.toLowerCase()]) }); res.end('ok'); });
      });
      await new Promise<void>((r) => hook.listen(0, 'localhost', r));
      try {
        const secret = await server.services.tenants.setWebhook('demo', `https://localhost:${(hook.address() as AddressInfo).port}/sesame`);
        await server.services.database.db.deleteFrom('crossdevice_events').where('type', '=', 'push_requested').execute();
        const { request } = await desktopStarts(server, client, { email: 'ada@example.com', push: true });
        assert.equal(received.length, 1);
        assert.ok(verifyWebhook(secret!, received[0].body, received[0].signature));
        assert.ok(!verifyWebhook('wrong-secret', received[0].body, received[0].signature));
        const payload = JSON.parse(received[0].body);
        assert.equal(payload.requestId, request.id);
        assert.equal(payload.link, request.link);
        const events = (await server.services.crossDeviceRequests.eventsFor('demo', request.id)).map((e) => e.type);
        assert.ok(events.includes('webhook_sent'));
      } finally {
        await server.services.tenants.setWebhook('demo', null);
        await new Promise<void>((r) => hook.close(() => r()));
      }
    });

    test('the Passport app is an installable PWA', async () => {
      const page = await fetch(`${server.origin}/demo/passport/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<link rel="manifest" href="\/demo\/passport\/manifest.webmanifest">/);
      const manifest = await (await fetch(`${server.origin}/demo/passport/manifest.webmanifest`)).json();
      assert.equal(manifest.start_url, '/demo/passport/');
      assert.equal(manifest.display, 'standalone');
      assert.ok(manifest.icons.length > 0);
      assert.equal((await fetch(`${server.origin}${manifest.icons[0].src}`)).status, 200);
      const sw = await fetch(`${server.origin}/demo/passport/sw.js`);
      assert.equal(sw.status, 200);
      assert.match(await sw.text(), /showNotification/);
      assert.match(page.headers.get('content-security-policy')!, /worker-src 'self'/);
    });
  });
}

describe('sesame passport (terminal device)', () => {
  test('enrol, list, approve and deny from the command line', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const pushService = await startPushService();
    const server = await startTestServer('sqlite', pushService.sesameOptions);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-passport-cli-'));
    const file = path.join(dir, 'device.json');
    const sesame = passportCli(file);
    try {
      const client = await createClient(server);
      const laptop = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'grace@example.com', 'Grace', laptop);
      const enrol = await sesame('passport', 'enrol', await enrolmentLink(server, laptop), '--name', 'CI terminal');
      assert.equal(enrol.code, 0, enrol.err);
      assert.match(enrol.out, /enrolled as "CI terminal"/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the key file is private');

      // The terminal has no push subscription; a webhook makes push possible for it.
      await server.services.tenants.setWebhook('demo', 'https://localhost:1/unreachable');
      const push = await desktopStarts(server, client, { email: 'grace@example.com', push: true });
      assert.equal(push.started.status, 200, push.started.text);
      assert.equal(push.started.json().delivered, 0, 'the unreachable webhook is reported, the page falls back to the QR code');
      const list = await sesame('passport', 'list');
      assert.match(list.out, new RegExp(`^${push.request.id}\\tTest RP — Chrome 142 on Windows`, 'm'));
      const approve = await sesame('passport', 'approve', push.request.id, '--number', String(push.request.number));
      assert.equal(approve.code, 0, approve.err);
      assert.match(approve.out, /Approved/);
      assert.equal((await push.ua.get(`${push.base}/crossdevice/${push.request.id}`)).json().status, 'approved');

      const qr = await desktopStarts(server, client);
      assert.equal((await sesame('passport', 'deny', qr.request.link)).code, 0);
      assert.equal((await qr.ua.get(`${qr.base}/crossdevice/${qr.request.id}`)).json().status, 'denied');

      const noNumber = await sesame('passport', 'approve', (await desktopStarts(server, client)).request.link);
      assert.equal(noNumber.code, 2);
      assert.match(noNumber.err, /--number \(one of \d\d, \d\d, \d\d\)/);
      const badLink = await sesame('passport', 'approve', 'https://example.com/nothing');
      assert.equal(badLink.code, 1);
      assert.match(badLink.err, /not a Sesame sign-in request link/);
    } finally {
      await server.close();
      await pushService.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
