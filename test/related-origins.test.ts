import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail, signUp } from './support/flow.js';
import { setTenantSettings } from '../src/cli/tenant-settings.js';
import { checkFraming } from '../src/webauthn/framing.js';

/**
 * Related Origin Requests over HTTP: the software authenticator signs for whatever origin it is
 * given, as a browser would for a page on a related origin once /.well-known/webauthn lists it.
 * Chromium itself is not driven here: it fetches the list only over https from a real domain.
 */
describe('framed ceremonies (crossOrigin / topOrigin)', () => {
  const clientData = (fields: object) => Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'x', origin: 'https://shop.example.com', ...fields })).toString('base64url');
  const tenantOrigins = ['https://login.example.com', 'https://shop.example.com'];

  test('a top-level ceremony passes; a framed one only under a top origin the tenant knows', () => {
    assert.equal(checkFraming(clientData({ crossOrigin: false }), tenantOrigins), undefined);
    assert.equal(checkFraming(clientData({}), []), undefined);
    assert.equal(checkFraming(clientData({ crossOrigin: true, topOrigin: 'https://login.example.com' }), tenantOrigins), 'https://login.example.com');
    assert.throws(() => checkFraming(clientData({ crossOrigin: true, topOrigin: 'https://evil.example' }), tenantOrigins),
      /in a frame inside https:\/\/evil\.example, a top origin this relying party does not expect/);
    assert.throws(() => checkFraming(clientData({ crossOrigin: true }), tenantOrigins), /whose origin the browser did not name/);
    assert.throws(() => checkFraming(clientData({ topOrigin: 'https://evil.example' }), tenantOrigins), /top origin/, 'a topOrigin without crossOrigin is checked too');
  });

  test('"any" (a vector source that stated a framed ceremony valid) accepts every framing', () => {
    assert.equal(checkFraming(clientData({ crossOrigin: true, topOrigin: 'https://example.com' }), 'any'), 'https://example.com');
    assert.equal(checkFraming(clientData({ crossOrigin: true }), 'any'), undefined);
  });
});

for (const db of await databases()) {
  describe(`related origins (${db})`, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(db);
      await server.services.tenants.createTenant('shop', 'Shop');
      await server.services.tenants.createTenant('bank', 'Bank');
      await setTenantSettings(server.services, 'shop', { 'related-origin': 'https://shop.example.com,https://shop.example.co.uk:8443' });
      await setTenantSettings(server.services, 'bank', { 'related-origin': 'https://bank.example.net' });
    });
    after(() => server.close());

    test('/.well-known/webauthn serves every tenant\'s related origins as JSON', async () => {
      const response = await fetch(`${server.origin}/.well-known/webauthn`);
      assert.equal(response.status, 200);
      assert.match(String(response.headers.get('content-type')), /^application\/json/);
      assert.deepEqual(await response.json(), { origins: ['https://bank.example.net', 'https://shop.example.co.uk:8443', 'https://shop.example.com'] });
    });

    test('only https origins without a path are taken', async () => {
      for (const bad of ['http://shop.example.com', 'https://shop.example.com/login', 'shop.example.com', 'https://user@shop.example.com']) {
        await assert.rejects(setTenantSettings(server.services, 'shop', { 'related-origin': bad }), /not an https origin/, bad);
      }
      assert.deepEqual((await server.services.tenants.requireTenant('shop')).relatedOrigins, ['https://shop.example.com', 'https://shop.example.co.uk:8443']);
    });

    async function signInFrom(tenant: string, authenticator: SoftwareAuthenticator, email: string, origin: string) {
      const client = await createClient(server, { tenantId: tenant });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, tenant));
      const start = (await ua.postJson(`${base}/signin/options`, { email })).json();
      return ua.postJson(`${base}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, origin) });
    }

    test('an assertion from a listed origin is accepted; an unlisted one, or another tenant\'s, is refused', async () => {
      const authenticator = new SoftwareAuthenticator();
      const client = await createClient(server, { tenantId: 'shop' });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, 'shop'));
      await signUp(ua, authenticator, base, 'ro@example.com', 'R');
      assert.equal((await signInFrom('shop', authenticator, 'ro@example.com', 'https://shop.example.com')).status, 200);
      assert.equal((await signInFrom('shop', authenticator, 'ro@example.com', server.origin)).status, 200, 'PUBLIC_URL\'s origin stays accepted');
      const unlisted = await signInFrom('shop', authenticator, 'ro@example.com', 'https://evil.example.com');
      assert.equal(unlisted.status, 400);
      assert.equal(unlisted.json().error, 'assertion_invalid');
      const otherTenants = await signInFrom('shop', authenticator, 'ro@example.com', 'https://bank.example.net');
      assert.equal(otherTenants.status, 400, 'each tenant accepts only its own related origins');
    });

    test('a passkey can be registered from a related origin', async () => {
      const client = await createClient(server, { tenantId: 'bank' });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, 'bank'));
      const start = (await ua.postJson(`${base}/signup/options`, { email: 'bankro@example.com', displayName: 'B', verificationId: await proveEmail(ua, base, 'bankro@example.com', 'B') })).json();
      const done = await ua.postJson(`${base}/signup/verify`, { challengeId: start.challengeId, response: new SoftwareAuthenticator().createCredential(start.options, 'https://bank.example.net') });
      assert.equal(done.status, 200, done.text);
    });
  });
}
