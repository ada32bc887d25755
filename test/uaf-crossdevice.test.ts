import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { UafAuthenticator } from '../sdk/uaf-authenticator.js';
import { PassportClient, PassportError } from '../sdk/passport-client.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { createClient, exchangeCode, finishAtRp, signUpThroughRp, verifyIdToken } from './support/flow.js';
import { startPushService, type TestPushService } from './support/push-service.js';
import { desktopStarts, enrolmentLink } from './support/crossdevice.js';
import { passportCli } from './support/cli.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * A phone whose Passport is a FIDO UAF authenticator approves cross-device sign-ins: it enrols with
 * the one-time link (UAF Reg), then, for a QR code or a push, picks the number and signs a UAF Auth
 * whose transaction text — shown by the authenticator — names the application, browser and address.
 * The desktop's sign-in then completes the OIDC flow, and `amr` says a software UAF key did it.
 */
for (const db of await databases()) {
  describe(`UAF approves cross-device sign-in (${db})`, () => {
    let server: TestServer;
    let client: Client;
    let pushService: TestPushService;
    let sub: string;
    const laptop = new SoftwareAuthenticator();
    const shown: string[] = [];
    let answer = true;
    const phone = new PassportClient(new UafAuthenticator({ facetId: 'set in before()', confirm: (text) => { shown.push(text); return answer; } }));

    /** Completes the desktop's sign-in after the approval and returns the ID token's claims. */
    const desktopFinishes = async (desktop: Awaited<ReturnType<typeof desktopStarts>>) => {
      const done = await desktop.ua.postJson(`${desktop.base}/crossdevice/${desktop.request.id}/complete`, {});
      assert.equal(done.status, 200, done.text);
      const { params } = await finishAtRp(desktop.ua, done.json().redirectTo);
      return verifyIdToken(server, client, (await exchangeCode(server, client, params.code)).body.id_token);
    };

    before(async () => {
      pushService = await startPushService();
      server = await startTestServer(db, pushService.sesameOptions);
      client = await createClient(server);
      ({ claims: { sub } } = await signUpThroughRp(server, client, 'uma@example.com', 'Uma', laptop) as { claims: { sub: string } });
      Object.assign(phone, { authenticator: new UafAuthenticator({ facetId: server.origin, confirm: (text) => { shown.push(text); return answer; } }) });
    });
    after(async () => {
      await server.close();
      await pushService.close();
    });

    test('the phone enrols a UAF key with the one-time link, with its push subscription', async () => {
      const device = await phone.enrolWithLink(await enrolmentLink(server, laptop), 'UAF phone', pushService.subscribe());
      assert.equal(device.protocol, 'uaf');
      const devices = await server.services.passport.listDevices('demo', sub);
      assert.deepEqual(devices.map((d) => [d.name, d.pushSubscription !== null]), [['UAF phone', true]]);
    });

    test('a QR code: the authenticator shows who asks, signs it, and the desktop signs in with amr mca swk user mfa', async () => {
      const desktop = await desktopStarts(server, client);
      assert.equal(desktop.started.status, 200, desktop.started.text);
      await phone.approve(desktop.request.link, desktop.request.number);
      const text = shown.at(-1)!;
      assert.match(text, /^Sign in to Test RP\?\nFrom Chrome 142 on Windows 10\nIP address [0-9a-f.:]+, at \d\d:\d\d UTC$/);
      const claims = await desktopFinishes(desktop);
      assert.equal(claims.sub, sub);
      assert.deepEqual(claims.amr, ['mca', 'swk', 'user', 'mfa']);
      assert.equal(claims.acr, undefined, 'a relayed approval is not phishing-resistant');
      const approved = (await server.services.crossDeviceRequests.eventsFor('demo', desktop.request.id)).find((e) => e.type === 'approved');
      assert.match(String(approved?.detail), /^uaf:FFFF#FC01:[A-Za-z0-9_-]{43}$/);
    });

    test('a push reaches the UAF phone and its approval signs the desktop in', async () => {
      const before = pushService.received.length;
      const desktop = await desktopStarts(server, client, { email: 'uma@example.com', push: true });
      assert.equal(desktop.started.status, 200, desktop.started.text);
      assert.equal(desktop.started.json().delivered, 1);
      assert.deepEqual((await pushService.waitFor(before + 1)).at(-1)!.payload, { requestId: desktop.request.id });
      assert.ok((await phone.pendingRequests()).some((r) => r.id === desktop.request.id));
      await phone.approve(desktop.request.id, desktop.request.number);
      assert.equal((await desktopFinishes(desktop)).sub, sub);
    });

    test('a wrong number ends the request before anything is signed', async () => {
      const desktop = await desktopStarts(server, client);
      const wrong = (desktop.request.number + 1) % 100;
      const shownBefore = shown.length;
      await assert.rejects(phone.approve(desktop.request.link, wrong), (e: PassportError) => e.status === 400 && e.code === 'wrong_number');
      assert.equal(shown.length, shownBefore, 'no transaction was shown');
      assert.equal((await desktop.ua.get(`${desktop.base}/crossdevice/${desktop.request.id}`)).json().status, 'failed');
    });

    test('declining the shown details approves nothing', async () => {
      const desktop = await desktopStarts(server, client);
      answer = false;
      try {
        await assert.rejects(phone.approve(desktop.request.link, desktop.request.number), /did not confirm/);
      } finally {
        answer = true;
      }
      assert.equal((await desktop.ua.get(`${desktop.base}/crossdevice/${desktop.request.id}`)).json().status, 'pending');
    });

    test('an assertion that does not confirm the transaction, a replay, and another account\'s phone are refused', async () => {
      const device = phone.device!;
      const uaf = `${server.origin}/demo/uaf`;
      const call = async (step: 'get' | 'respond', body: unknown, token?: string) => {
        const res = await fetch(`${uaf}/${step}`, { method: 'POST', body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', origin: server.origin, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
        return { status: res.status, body: await res.json() as Record<string, any> };
      };
      const desktop = await desktopStarts(server, client);
      const got = await call('get', { op: 'Auth', context: JSON.stringify({ request: desktop.request.id, number: desktop.request.number }) }, device.deviceToken);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      // The same key signs without the transaction: the server asked for one, so this approves nothing.
      const request = JSON.parse(got.body.uafRequest);
      const withoutText = JSON.stringify([{ ...request[0], transaction: undefined }]);
      const unconfirmed = await call('respond', { uafResponse: JSON.stringify(await (phone.authenticator as UafAuthenticator).authenticate(withoutText)) });
      assert.equal(unconfirmed.status, 400, JSON.stringify(unconfirmed.body));
      assert.equal(unconfirmed.body.error, 'uaf_transaction');
      assert.equal((await desktop.ua.get(`${desktop.base}/crossdevice/${desktop.request.id}`)).json().status, 'pending');

      // A proper answer to a fresh Auth approves once; the same answer again is a replay.
      const fresh = await call('get', { op: 'Auth', context: JSON.stringify({ request: desktop.request.id, number: desktop.request.number }) }, device.deviceToken);
      const answerOnce = JSON.stringify(await (phone.authenticator as UafAuthenticator).authenticate(fresh.body.uafRequest));
      const results = await Promise.all(Array.from({ length: 8 }, () => call('respond', { uafResponse: answerOnce })));
      assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => r.body)));
      assert.equal(results.find((r) => r.status === 200)!.body.approved, desktop.request.id);
      assert.equal((await desktop.ua.get(`${desktop.base}/crossdevice/${desktop.request.id}`)).json().status, 'approved');

      // A request for Uma is not approved by Vic's phone, and asking does not spend Uma's number.
      const vicLaptop = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'vic@example.com', 'Vic', vicLaptop);
      const vicPhone = new PassportClient(new UafAuthenticator({ facetId: server.origin, confirm: () => true }));
      await vicPhone.enrolWithLink(await enrolmentLink(server, vicLaptop), 'Vic phone');
      const forUma = await desktopStarts(server, client, { email: 'uma@example.com', push: true });
      await assert.rejects(vicPhone.approve(forUma.request.id, forUma.request.number), (e: PassportError) => e.status === 403 && e.code === 'wrong_account');
      await phone.approve(forUma.request.id, forUma.request.number);
      assert.equal((await desktopFinishes(forUma)).sub, sub);

      // Bad contexts are a clear 400.
      assert.equal((await call('get', { op: 'Auth', context: JSON.stringify({ request: desktop.request.id }) }, device.deviceToken)).status, 400);
      assert.equal((await call('get', { op: 'Auth', context: JSON.stringify({ request: 'x', number: 1 }) }, device.deviceToken)).status, 400);
    });

    test('a disabled account\'s UAF phone approves nothing, and an approval made just before the disabling does not sign the desktop in', async () => {
      const { token } = await server.services.apiTokens.create({ tenantId: 'demo' });
      const admin = (action: 'disable' | 'enable') => fetch(`${server.origin}/api/tenants/demo/users/${sub}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      const approvedFirst = await desktopStarts(server, client);
      await phone.approve(approvedFirst.request.link, approvedFirst.request.number);
      assert.equal((await admin('disable')).status, 200);
      try {
        const desktop = await desktopStarts(server, client);
        await assert.rejects(phone.approve(desktop.request.link, desktop.request.number), (e: PassportError) => e.status === 403 && e.code === 'account_disabled');
        assert.equal((await desktop.ua.get(`${desktop.base}/crossdevice/${desktop.request.id}`)).json().status, 'pending');

        const late = await approvedFirst.ua.postJson(`${approvedFirst.base}/crossdevice/${approvedFirst.request.id}/complete`, {});
        assert.equal(late.status, 403, late.text);
        assert.equal(late.json().error, 'account_disabled');
      } finally {
        assert.equal((await admin('enable')).status, 200);
      }
    });

    test('removing the UAF phone removes its key, and deleting a person removes theirs', async () => {
      const keysOf = async (userId: string) => (await server.services.database.db.selectFrom('uaf_registrations').select('key_id')
        .where('tenant_id', '=', 'demo').where('user_id', '=', userId).execute()).length;
      assert.equal(await keysOf(sub), 1);
      const removed = await fetch(`${server.origin}/demo/passport/api/device/remove`, { method: 'POST', body: '{}',
        headers: { 'content-type': 'application/json', origin: server.origin, authorization: `Bearer ${phone.device!.deviceToken}` } });
      assert.equal(removed.status, 200, await removed.text());
      assert.equal(await keysOf(sub), 0, 'a key nobody can see or remove does not stay');

      const vic = await server.services.userAdmin.findByEmail('demo', 'vic@example.com');
      assert.equal(await keysOf(vic.id), 1);
      await server.services.userAdmin.deleteUser('demo', vic.id);
      assert.equal(await keysOf(vic.id), 0);
    });
  });
}

describe('sesame passport --protocol uaf (terminal device)', () => {
  test('enrol with a UAF key, approve with the details confirmed, decline, and --yes without a terminal', async () => {
    const server = await startTestServer('sqlite');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-passport-uaf-'));
    const file = path.join(dir, 'device.json');
    const sesame = passportCli(file);
    try {
      const client = await createClient(server);
      const laptop = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'wen@example.com', 'Wen', laptop);
      const badProtocol = await sesame('passport', 'enrol', await enrolmentLink(server, laptop), '--protocol', 'u2f');
      assert.equal(badProtocol.code, 2);
      assert.match(badProtocol.err, /--protocol is webauthn .* or uaf/);
      const enrol = await sesame('passport', 'enrol', await enrolmentLink(server, laptop), '--name', 'UAF terminal', '--protocol', 'uaf');
      assert.equal(enrol.code, 0, enrol.err);
      assert.match(enrol.out, /enrolled as "UAF terminal" .*with a FIDO UAF key/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.ok(JSON.parse(fs.readFileSync(file, 'utf8')).uaf, 'the UAF key is kept');

      const desktop = await desktopStarts(server, client);
      const unconfirmed = await sesame('passport', 'approve', desktop.request.link, '--number', String(desktop.request.number));
      assert.equal(unconfirmed.code, 2, 'without a terminal the details must be confirmed with --yes');
      assert.match(unconfirmed.err, /--yes/);
      const approve = await sesame('passport', 'approve', desktop.request.link, '--number', String(desktop.request.number), '--yes');
      assert.equal(approve.code, 0, approve.err);
      assert.match(approve.out, /Your authenticator confirms this sign-in:\n {2}Sign in to Test RP\?\n {2}From Chrome 142 on Windows/);
      assert.match(approve.out, /Approved/);
      const done = await desktop.ua.postJson(`${desktop.base}/crossdevice/${desktop.request.id}/complete`, {});
      const { params } = await finishAtRp(desktop.ua, done.json().redirectTo);
      const claims = await verifyIdToken(server, client, (await exchangeCode(server, client, params.code)).body.id_token);
      assert.deepEqual(claims.amr, ['mca', 'swk', 'user', 'mfa']);
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
