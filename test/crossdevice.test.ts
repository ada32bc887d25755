import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient, PassportError } from '../sdk/passport-client.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { createClient, exchangeCode, finishAtRp, signUpThroughRp, verifyIdToken } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

import { desktopStarts } from './support/crossdevice.js';
import { EventStreamRefused, openEventStream, type EventStream } from './support/sse.js';

async function expectPassportError(promise: Promise<unknown>, status: number, code?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PassportError, String(error));
    assert.equal(error.status, status, error.message);
    if (code) assert.equal(error.code, code);
    return true;
  });
}

/** What the approval page posts (same origin, JSON). */
function phonePost(link: string, action: string, body: unknown): Promise<Response> {
  return fetch(`${link}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: new URL(link).origin }, body: JSON.stringify(body) });
}

for (const db of await databases()) {
  describe(`cross-device sign-in (${db})`, () => {
    let server: TestServer;
    let client: Client;
    const phoneKey = new SoftwareAuthenticator({ synced: true });
    const phone = new PassportClient(phoneKey);
    let sub: string;

    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
      ({ claims: { sub } } = await signUpThroughRp(server, client, 'katherine@example.com', 'Katherine Johnson', phoneKey) as { claims: { sub: string } });
    });
    after(() => server.close());

    test('QR: the phone sees who asks, picks the number, approves with its passkey; the desktop completes with amr mca', async () => {
      const { ua, base, started, request } = await desktopStarts(server, client);
      assert.equal(started.status, 200, started.text);
      assert.match(request.link, new RegExp(`^${server.origin}/demo/x/[A-Za-z0-9_-]{22}$`));
      assert.ok(Buffer.from(request.id, 'base64url').length >= 16, 'request id has at least 128 bits');
      assert.match(request.qrSvg, /^<svg/);
      assert.ok(request.number >= 10 && request.number <= 99);
      assert.ok(Date.parse(request.expiresAt) - Date.now() <= 2 * 60 * 1000);

      const details = await phone.details(request.link);
      assert.equal(details.clientName, 'Test RP');
      assert.equal(details.browser, 'Chrome 142');
      assert.match(details.os, /Windows/);
      assert.match(details.ip, /127\.0\.0\.1|::1/);
      assert.equal(details.choices.length, 3);
      assert.ok(details.choices.includes(request.number));

      const page = await new UserAgent(server.origin).get(request.link);
      assert.match(page.text, /Chrome 142 on Windows/);
      assert.equal((page.text.match(/class="choice"/g) ?? []).length, 3);

      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'pending');
      await phone.approve(request.link, request.number);
      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'approved');

      const done = await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {});
      assert.equal(done.status, 200, done.text);
      const { params } = await finishAtRp(ua, done.json().redirectTo);
      const tokens = await exchangeCode(server, client, params.code);
      const claims = await verifyIdToken(server, client, tokens.body.id_token);
      assert.equal(claims.sub, sub);
      assert.deepEqual(claims.amr, ['mca', 'swk', 'user', 'mfa']);
      assert.equal(claims.acr, undefined, 'a cross-device sign-in is not claimed phishing-resistant');

      const again = await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {});
      assert.ok([400, 409].includes(again.status), `an approval is used once (${again.status})`);
      await expectPassportError(phone.approve(request.link, request.number), 409);
    });

    test('the desktop hears the approval over Server-Sent Events', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      const cookie = await ua.jar.getCookieString(`${base}/crossdevice/${request.id}/events`);
      const response = await fetch(`${base}/crossdevice/${request.id}/events`, { headers: { cookie, accept: 'text/event-stream' } });
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = response.body!.getReader();
      const events: string[] = [];
      const read = (async () => {
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += Buffer.from(value).toString('utf8');
          for (const match of buffer.matchAll(/event: status\ndata: (.*)\n\n/g)) events.push(JSON.parse(match[1]).status);
          buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
        }
      })();
      await new Promise((r) => setTimeout(r, 100));
      await phone.approve(request.link, request.number);
      await read;
      assert.deepEqual(events, ['pending', 'approved']);
    });

    test('at most two live streams per request: a third replaces the oldest, which is told so', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      const url = `${base}/crossdevice/${request.id}/events`;
      const cookie = await ua.jar.getCookieString(url);
      const streams: EventStream[] = [];
      try {
        for (let i = 0; i < 3; i += 1) {
          const stream = await openEventStream(url, { cookie });
          streams.push(stream);
          await stream.waitFor((e) => e.event === 'status');
        }
        await phone.approve(request.link, request.number);
        const [oldest, ...newer] = streams;
        for (const stream of newer) await stream.waitFor((e) => e.event === 'status' && JSON.parse(e.data).status === 'approved');
        await oldest.ended;
        assert.deepEqual(oldest.events.map((e) => e.event), ['status', 'replaced'], 'the oldest stream was ended before the approval');
      } finally {
        for (const stream of streams) stream.close();
      }
    });

    test('live streams per client network are capped (EVENT_STREAMS_PER_NETWORK): beyond it a clear 429', async () => {
      const capped = await startTestServer(db, { env: { TRUST_PROXY: '1', EVENT_STREAMS_PER_NETWORK: '3' } });
      const streams: EventStream[] = [];
      try {
        const cappedClient = await createClient(capped);
        const desktops: Array<Awaited<ReturnType<typeof desktopStarts>>> = [];
        for (let i = 0; i < 4; i += 1) desktops.push(await desktopStarts(capped, cappedClient));
        const open = async (desktop: (typeof desktops)[number], ip: string) => {
          const url = `${desktop.base}/crossdevice/${desktop.request.id}/events`;
          try {
            const stream = await openEventStream(url, { cookie: await desktop.ua.jar.getCookieString(url), 'x-forwarded-for': ip });
            streams.push(stream);
            await stream.waitFor((e) => e.event === 'status');
            return { status: 200, stream };
          } catch (error) {
            if (!(error instanceof EventStreamRefused)) throw error;
            return { status: error.status, retryAfter: error.headers.get('retry-after'), body: JSON.parse(error.body) };
          }
        };
        // Every address of one IPv6 /64 is one network.
        assert.equal((await open(desktops[0], '2001:db8:9:9::1')).status, 200);
        assert.equal((await open(desktops[0], '2001:db8:9:9::2')).status, 200);
        const third = await open(desktops[1], '2001:db8:9:9::3');
        assert.equal(third.status, 200);
        const refused = await open(desktops[3], '2001:db8:9:9::4');
        assert.equal(refused.status, 429);
        assert.equal(refused.retryAfter, '60');
        assert.deepEqual(refused.body, {
          error: 'rate_limited',
          message: 'Too many sign-in pages on your network are waiting for a phone at the same time. This page checks for the answer every few seconds instead.',
        });
        assert.equal((await open(desktops[2], '2001:db8:9:a::1')).status, 200, 'another network is not affected');
        // A finished request frees its stream's place.
        assert.equal((await desktops[1].ua.postJson(`${desktops[1].base}/crossdevice/${desktops[1].request.id}/cancel`, {})).status, 200);
        await third.stream!.ended;
        assert.equal((await open(desktops[3], '2001:db8:9:9::4')).status, 200);
      } finally {
        for (const stream of streams) stream.close();
        await capped.close();
      }
    });

    test('deny shows "denied" on the desktop, and nothing can complete', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      await phone.deny(request.link);
      const status = (await ua.get(`${base}/crossdevice/${request.id}`)).json();
      assert.equal(status.status, 'denied');
      assert.match(status.message, /denied/);
      assert.equal((await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {})).status, 409);
      await expectPassportError(phone.approve(request.link, request.number), 409);
    });

    test('a wrong number fails the request and is recorded', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      const wrong = (await phone.details(request.link)).choices.find((n) => n !== request.number)!;
      await expectPassportError(phone.approve(request.link, wrong), 400, 'wrong_number');
      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'failed');
      await expectPassportError(phone.approve(request.link, request.number), 409);
      const events = await server.services.crossDeviceRequests.eventsFor('demo', request.id);
      assert.ok(events.some((e) => e.type === 'wrong_number' && e.detail === String(wrong)));
    });

    test('a phone without a passkey for the account says so: the request fails with that reason, recorded, and the desktop hears it at once', async () => {
      const { ua, base, request } = await desktopStarts(server, client, { email: 'katherine@example.com' });
      const details = await phone.details(request.link);
      assert.equal(details.account, 'katherine@example.com', 'the phone can name the account whose passkey it needs');
      const cookie = await ua.jar.getCookieString(`${base}/crossdevice/${request.id}/events`);
      const stream = await openEventStream(`${base}/crossdevice/${request.id}/events`, { cookie });
      await stream.waitFor((e) => e.event === 'status' && JSON.parse(e.data).status === 'pending');
      assert.equal((await phonePost(request.link, 'choose', { number: request.number })).status, 200);
      const failed = await phonePost(request.link, 'fail', { reason: 'no_passkey_on_phone' });
      assert.equal(failed.status, 200);
      assert.deepEqual({ ...(await failed.json()), message: undefined }, { status: 'failed', reason: 'no_passkey_on_phone', message: undefined });
      const heard = JSON.parse((await stream.waitFor((e) => e.event === 'status' && JSON.parse(e.data).status === 'failed')).data);
      assert.equal(heard.reason, 'no_passkey_on_phone');
      assert.match(heard.message, /Your phone has no passkey for this account/);
      await stream.ended;
      const status = (await ua.get(`${base}/crossdevice/${request.id}`)).json();
      assert.equal(status.reason, 'no_passkey_on_phone');
      assert.equal((await phone.details(request.link)).reason, 'no_passkey_on_phone');
      const events = await server.services.crossDeviceRequests.eventsFor('demo', request.id);
      assert.deepEqual(events.map((e) => e.type), ['qr_shown', 'no_passkey_on_phone']);
      // Single transition: nothing answers the request after it, and reporting again is refused.
      assert.equal((await phonePost(request.link, 'fail', { reason: 'no_passkey_on_phone' })).status, 409);
      await expectPassportError(phone.approve(request.link, request.number), 409, 'request_failed');
      assert.equal((await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {})).status, 409);
    });

    test('no-passkey reports: only after the right number, only while pending, only known reasons, only same-origin', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      const early = await phonePost(request.link, 'fail', { reason: 'no_passkey_on_phone' });
      assert.equal(early.status, 400);
      assert.equal((await early.json()).error, 'number_required');
      assert.equal((await phonePost(request.link, 'fail', { reason: 'bored' })).status, 400);
      assert.equal((await phonePost(request.link, 'fail', {})).status, 400);
      assert.equal((await phonePost(`${server.origin}/demo/x/${'A'.repeat(22)}`, 'fail', { reason: 'no_passkey_on_phone' })).status, 404);
      assert.equal((await phonePost(request.link, 'choose', { number: request.number })).status, 200);
      const crossSite = await fetch(`${request.link}/fail`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example.com' }, body: JSON.stringify({ reason: 'no_passkey_on_phone' }) });
      assert.equal(crossSite.status, 403);
      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'pending', 'refused reports change nothing');
      await phone.deny(request.link);
      const late = await phonePost(request.link, 'fail', { reason: 'no_passkey_on_phone' });
      assert.equal(late.status, 409);
      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'denied');
      const expired = await desktopStarts(server, client);
      assert.equal((await phonePost(expired.request.link, 'choose', { number: expired.request.number })).status, 200);
      await server.services.database.db.updateTable('crossdevice_requests').set({ expires_at: Date.now() - 1 }).where('id', '=', expired.request.id).execute();
      assert.equal((await phonePost(expired.request.link, 'fail', { reason: 'no_passkey_on_phone' })).status, 410);
    });

    test('a wrong number tells the desktop its reason', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      const wrong = (await phone.details(request.link)).choices.find((n) => n !== request.number)!;
      await expectPassportError(phone.approve(request.link, wrong), 400, 'wrong_number');
      const status = (await ua.get(`${base}/crossdevice/${request.id}`)).json();
      assert.equal(status.reason, 'wrong_number');
      assert.match(status.message, /wrong number/);
    });

    test('a request expires after two minutes', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      await server.services.database.db.updateTable('crossdevice_requests').set({ expires_at: Date.now() - 1 }).where('id', '=', request.id).execute();
      await expectPassportError(phone.approve(request.link, request.number), 410, 'request_expired');
      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'expired');
      const events = await server.services.crossDeviceRequests.eventsFor('demo', request.id);
      assert.equal(events.filter((e) => e.type === 'expired').length, 1, 'expiry recorded once');
    });

    test('only the browser that showed the code can redeem the approval', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      await phone.approve(request.link, request.number);
      // Another browser on the same interaction page, without the binding cookie (a relayed QR).
      const attacker = new UserAgent(server.origin);
      for (const cookie of await ua.jar.getCookies(base)) if (cookie.key !== 'sesame_xd') await attacker.jar.setCookie(cookie, base);
      const stolen = await attacker.postJson(`${base}/crossdevice/${request.id}/complete`, {});
      assert.equal(stolen.status, 403);
      assert.equal(stolen.json().error, 'wrong_browser');
      // A completely different browser and sign-in.
      const other = await desktopStarts(server, client);
      assert.equal((await other.ua.postJson(`${other.base}/crossdevice/${request.id}/complete`, {})).status, 403);
      // The rightful browser still can.
      assert.equal((await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {})).status, 200);
    });

    test('with a username, only that account\'s passkey can approve', async () => {
      const stranger = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'stranger@example.com', 'Stranger', stranger);
      const { request } = await desktopStarts(server, client, { email: 'katherine@example.com' });
      const options = (await (await fetch(`${request.link}/choose`, {
        method: 'POST', headers: { 'content-type': 'application/json', origin: server.origin }, body: JSON.stringify({ number: request.number }),
      })).json());
      assert.deepEqual(options.options.allowCredentials.map((c: { id: string }) => c.id), [...phoneKey.credentials.keys()]);
      const forged = stranger.getAssertion({ ...options.options, allowCredentials: [] }, server.origin);
      const approve = await fetch(`${request.link}/approve`, {
        method: 'POST', headers: { 'content-type': 'application/json', origin: server.origin }, body: JSON.stringify({ challengeId: options.challengeId, response: forged }),
      });
      assert.equal(approve.status, 400);
      assert.equal((await approve.json()).error, 'credential_mismatch');
    });

    test('the desktop can cancel, and bad input is a clean 4xx', async () => {
      const { ua, base, request } = await desktopStarts(server, client);
      assert.equal((await ua.postJson(`${base}/crossdevice/${request.id}/cancel`, {})).status, 200);
      assert.equal((await ua.get(`${base}/crossdevice/${request.id}`)).json().status, 'cancelled');
      assert.equal((await ua.postJson(`${base}/crossdevice`, { push: 'yes' })).status, 400);
      assert.equal((await ua.postJson(`${base}/crossdevice`, { email: 'nobody@example.com' })).status, 404);
      assert.equal((await ua.postJson(`${base}/crossdevice`, { push: true })).status, 400, 'push needs a username');
      assert.equal((await fetch(`${server.origin}/demo/x/${'A'.repeat(22)}/details`)).status, 404);
      const badNumber = await fetch(`${request.link}/choose`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.origin }, body: JSON.stringify({ number: 'seven' }) });
      assert.equal(badNumber.status, 400);
      const crossSite = await fetch(`${request.link}/deny`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example.com' }, body: '{}' });
      assert.equal(crossSite.status, 403);
    });
  });
}

describe('cross-device housekeeping', () => {
  test('due requests are expired (and recorded) without anyone looking; finished ones are deleted after a day', async () => {
    const server = await startTestServer('sqlite');
    try {
      const client = await createClient(server);
      const { request } = await desktopStarts(server, client);
      const db = server.services.database.db;
      await db.updateTable('crossdevice_requests').set({ expires_at: Date.now() - 1 }).where('id', '=', request.id).execute();
      await server.services.crossDevice.housekeeping();
      const row = await db.selectFrom('crossdevice_requests').select('status').where('id', '=', request.id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'expired');
      await server.services.crossDevice.housekeeping(Date.now() + 25 * 3600 * 1000);
      assert.equal(await db.selectFrom('crossdevice_requests').select('id').where('id', '=', request.id).executeTakeFirst(), undefined);
      const events = await server.services.crossDeviceRequests.eventsFor('demo', request.id);
      assert.deepEqual(events.map((e) => e.type), ['qr_shown', 'expired'], 'the audit record stays');
    } finally {
      await server.close();
    }
  });
});
