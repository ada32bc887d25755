import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail } from './support/flow.js';
import { chromiumSkipReason, launchChromium, withVirtualAuthenticator } from './support/browser.js';
import { dnsNames, makeCertificate } from './support/attestation-certificates.js';
import { setTenantSettings } from '../src/cli/tenant-settings.js';

/**
 * WebAuthn Related Origin Requests in Chromium, for real: a page on https://shop.test asks for a
 * passkey whose RP ID is Sesame's (sesame.test); Chromium fetches https://sesame.test/.well-known/webauthn
 * from Sesame, finds shop.test listed and runs the ceremony; Sesame verifies the result for the
 * tenant that lists the origin. A page on an unlisted origin is refused by Chromium itself.
 *
 * The names resolve to this machine through Chromium's --host-resolver-rules, which also sends
 * port 443 to the test's servers; their certificate (from a CA of this test) is accepted with
 * --ignore-certificate-errors-spki-list, which Chromium treats as a valid certificate (WebAuthn
 * refuses pages with certificate errors). Sesame itself runs with PUBLIC_URL https://sesame.test
 * behind a TLS terminator; the test talks to its http port as the shop's back end would, carrying
 * the options to the page and the page's answer back.
 */
const skip = chromiumSkipReason();
const SESAME = 'https://sesame.test';

class SesameBackend extends UserAgent {
  constructor(private readonly local: string) {
    super(SESAME);
  }

  /** Sesame's URLs name https://sesame.test (PUBLIC_URL); the test reaches the same server on its http port. */
  override request(url: string, init?: Parameters<UserAgent['request']>[1]) {
    return super.request(url.startsWith(SESAME) ? this.local + url.slice(SESAME.length) : url, init);
  }

  /** Redirects lead to https://sesame.test and to the http port alike: both are this server, so all are followed (to the sign-in page). */
  override follow(url: string) {
    return super.follow(url, '');
  }
}

describe('Related Origin Requests in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const closers: Array<() => unknown> = [];

  before(async () => {
    server = await startTestServer('sqlite', { env: { PUBLIC_URL: SESAME } });
    closers.push(() => server.close());
    await server.services.tenants.createTenant('shop', 'Shop');
    await server.services.tenants.createTenant('bank', 'Bank');
    await setTenantSettings(server.services, 'shop', { 'related-origin': 'https://shop.test' });
    await setTenantSettings(server.services, 'bank', { 'related-origin': 'https://bank.test' });

    const ca = makeCertificate({ subject: { CN: 'Related Origins Test CA' }, ca: true });
    const certificate = makeCertificate({ subject: { CN: 'sesame.test' }, issuer: ca, ca: false, extensions: [dnsNames('sesame.test', 'shop.test', 'bank.test', 'evil.test')] });
    const credentials = { cert: certificate.pem + ca.pem, key: certificate.keyPem };
    // https://sesame.test: TLS in front of Sesame's http port, as a load balancer would be.
    const terminator = tls.createServer(credentials, (socket) => {
      const upstream = net.connect(server.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    // https://shop.test, https://bank.test, https://evil.test: the sites' pages (no script of their own; the test runs it).
    const sites = https.createServer(credentials, (req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html lang="en"><title>${req.headers.host}</title><h1>${req.headers.host}</h1></html>`);
    });
    for (const s of [terminator, sites]) {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      closers.push(() => s.close());
    }
    const port = (s: net.Server) => (s.address() as AddressInfo).port;
    const spki = createHash('sha256').update(certificate.x509.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    browser = await launchChromium([
      `--host-resolver-rules=MAP sesame.test 127.0.0.1:${port(terminator)}, MAP shop.test 127.0.0.1:${port(sites)}, MAP bank.test 127.0.0.1:${port(sites)}, MAP evil.test 127.0.0.1:${port(sites)}`,
      `--ignore-certificate-errors-spki-list=${spki}`,
    ]);
    closers.push(() => browser.close());
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  /** Sesame's sign-in page of the tenant, as the shop's back end opens it. */
  async function signInPage(tenant: string) {
    const client = await createClient(server, { tenantId: tenant });
    const backend = new SesameBackend(server.origin);
    const { base } = await openSignInPage(backend, authorizeUrl(server, client, {}, tenant));
    return { backend, base };
  }

  /** navigator.credentials.create / get on the page, with Sesame's options; the credential's JSON, or the browser's error. */
  const create = (page: Page, options: unknown) => page.evaluate(async (json) => {
    try {
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(json as PublicKeyCredentialCreationOptionsJSON);
      return { credential: ((await navigator.credentials.create({ publicKey })) as PublicKeyCredential).toJSON() };
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }, options);
  const get = (page: Page, options: unknown) => page.evaluate(async (json) => {
    try {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(json as PublicKeyCredentialRequestOptionsJSON);
      return { credential: ((await navigator.credentials.get({ publicKey })) as PublicKeyCredential).toJSON() };
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }, options);

  test('a page on a listed origin registers a passkey for Sesame\'s RP ID and signs in with it; Sesame checks the origin per tenant', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    try {
      await page.goto('https://shop.test/');
      const signUp = await signInPage('shop');
      const email = 'related@example.com';
      const started = await signUp.backend.postJson(`${signUp.base}/signup/options`, { email, displayName: 'R', verificationId: await proveEmail(signUp.backend, signUp.base, email, 'R') });
      assert.equal(started.status, 200, started.text);
      const { challengeId, options } = started.json();
      assert.equal(options.rp.id, 'sesame.test');
      const made = await create(page, options);
      assert.ok(made.credential, `Chromium refused: ${made.error}`);
      const clientData = JSON.parse(Buffer.from(made.credential.response.clientDataJSON, 'base64url').toString('utf8'));
      assert.equal(clientData.origin, 'https://shop.test', 'the ceremony ran on the related origin');
      const registered = await signUp.backend.postJson(`${signUp.base}/signup/verify`, { challengeId, response: made.credential });
      assert.equal(registered.status, 200, registered.text);

      const signIn = await signInPage('shop');
      const request = (await signIn.backend.postJson(`${signIn.base}/signin/options`, { email })).json();
      const asserted = await get(page, request.options);
      assert.ok(asserted.credential, `Chromium refused: ${asserted.error}`);
      const signedIn = await signIn.backend.postJson(`${signIn.base}/signin/verify`, { challengeId: request.challengeId, response: asserted.credential });
      assert.equal(signedIn.status, 200, signedIn.text);

      // bank.test is on /.well-known/webauthn (the bank tenant lists it), so Chromium runs the ceremony;
      // the shop tenant does not list it, so Sesame refuses the result.
      await page.goto('https://bank.test/');
      const other = await signInPage('shop');
      const otherRequest = (await other.backend.postJson(`${other.base}/signin/options`, { email })).json();
      const fromBank = await get(page, otherRequest.options);
      assert.ok(fromBank.credential, `Chromium refused: ${fromBank.error}`);
      const refused = await other.backend.postJson(`${other.base}/signin/verify`, { challengeId: otherRequest.challengeId, response: fromBank.credential });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json().error, 'assertion_invalid');
      assert.match(refused.json().message, /origin/i);
    } finally {
      await context.close();
    }
  });

  test('a page on an unlisted origin is refused by Chromium after it read Sesame\'s list', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    try {
      await page.goto('https://evil.test/');
      const signUp = await signInPage('shop');
      const email = 'evil@example.com';
      const { options } = (await signUp.backend.postJson(`${signUp.base}/signup/options`, { email, displayName: 'E', verificationId: await proveEmail(signUp.backend, signUp.base, email, 'E') })).json();
      const made = await create(page, options);
      assert.equal(made.credential, undefined);
      assert.match(made.error!, /^SecurityError: .*fetching the \.well-known\/webauthn resource of the claimed RP ID was successful, but no listed origin matched the caller/);
    } finally {
      await context.close();
    }
  });
});
