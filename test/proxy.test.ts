import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createHash, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { jwtVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Browser } from 'playwright-core';
import { freePort, startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium, submitSignUpWithCode, withVirtualAuthenticator } from './support/browser.js';
import { nginxSkipReason, selfSignedCertificate, startTlsProxy, type Certificate, type TlsProxy } from './support/tls-proxy.js';
import { desktopStarts } from './support/crossdevice.js';
import { RP_REDIRECT } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Sesame behind a real TLS-terminating nginx (docs/deploy.md's configuration) with PUBLIC_URL set
 * to the proxy's https address, driven by Chromium and by a relying party on another site
 * (https://127.0.0.1:<port>, while Sesame is https://localhost:<port>).
 */
const skip = chromiumSkipReason() || nginxSkipReason();

// The certificate is made by this test; Node's fetch has no per-call trust store before Node 22.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

interface RpCallback { origin: string | undefined; params: Record<string, string> }

/** A relying party on its own site: auto-POSTed authorization requests, a pop-up sign-in, a form_post callback. */
async function startRelyingParty(certificate: Certificate, authorizeParams: () => Record<string, string>, authorizeEndpoint: () => string) {
  const callbacks: RpCallback[] = [];
  const html = (body: string) => `<!doctype html><html><head><meta charset="utf-8"><title>RP</title></head><body>${body}</body></html>`;
  const server = https.createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    const url = new URL(req.url!, 'https://127.0.0.1');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.method === 'GET' && url.pathname === '/post') {
      const inputs = Object.entries(authorizeParams()).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
      res.end(html(`<form method="post" action="${authorizeEndpoint()}">${inputs}</form><script>document.forms[0].submit()</script>`));
    } else if (req.method === 'GET' && url.pathname === '/popup') {
      const target = `${authorizeEndpoint()}?${new URLSearchParams(authorizeParams())}`;
      res.end(html(`<button id="open">Sign in</button><pre id="result"></pre><script>
        document.getElementById('open').addEventListener('click', () => window.open(${JSON.stringify(target)}, 'signin', 'popup,width=480,height=640'));
        window.addEventListener('message', (e) => { if (e.origin === location.origin) document.getElementById('result').textContent = JSON.stringify(e.data); });
      </script>`));
    } else if (req.method === 'POST' && url.pathname === '/callback') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const params = Object.fromEntries(new URLSearchParams(body));
        callbacks.push({ origin: req.headers.origin, params });
        res.end(html(`<pre id="params">${JSON.stringify(params).replace(/</g, '\\u003c')}</pre><script>
          if (window.opener) { window.opener.postMessage(${JSON.stringify(params)}, location.origin); window.close(); }
        </script>`));
      });
    } else {
      res.statusCode = 404;
      res.end(html('not found'));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, callbacks, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('behind a TLS-terminating nginx, in Chromium', { skip }, () => {
  let certificate: Certificate;
  let proxy: TlsProxy;
  let sesame: TestServer;
  let browser: Browser;
  let rp: Awaited<ReturnType<typeof startRelyingParty>>;
  let client: Client;
  let authParams: Record<string, string> = {};

  before(async () => {
    certificate = selfSignedCertificate();
    const proxyPort = await freePort();
    sesame = await startTestServer('sqlite', { env: { PUBLIC_URL: `https://localhost:${proxyPort}`, TRUST_PROXY: '1' } });
    proxy = await startTlsProxy({ port: proxyPort, upstreamPort: sesame.port, certificate });
    rp = await startRelyingParty(certificate, () => authParams, () => `${proxy.origin}/demo/oidc/auth`);
    client = await sesame.services.tenants.createClient({ tenantId: 'demo', name: 'Shop on another site', redirectUris: [`${rp.origin}/callback`, RP_REDIRECT] });
    // Trust this certificate only (WebAuthn refuses pages with certificate errors).
    const spki = createHash('sha256').update(new X509Certificate(certificate.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${spki}`]);
  });
  after(async () => {
    await browser?.close();
    await rp?.close();
    await proxy?.close();
    await sesame?.close();
  });

  const freshParams = (extra: Record<string, string> = {}) => ({
    client_id: client.clientId,
    redirect_uri: `${rp.origin}/callback`,
    response_type: 'code',
    response_mode: 'form_post',
    scope: 'openid profile email',
    state: `StateProperties=${Math.random().toString(36).slice(2)}`,
    nonce: Math.random().toString(36).slice(2),
    ...extra,
  });

  const redeem = async (code: string, nonce: string) => {
    const response = await fetch(`${proxy.origin}/demo/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${rp.origin}/callback`, client_id: client.clientId, client_secret: client.clientSecret }),
    });
    const tokens = await response.json() as { id_token: string };
    assert.equal(response.status, 200, JSON.stringify(tokens));
    const jwks = await (await fetch(`${proxy.origin}/demo/oidc/jwks`)).json() as JSONWebKeySet;
    const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), { issuer: `${proxy.origin}/demo/oidc`, audience: client.clientId });
    assert.equal(payload.nonce, nonce);
    return payload;
  };

  test('a B2C-profile sign-up, a cross-site POST authorization request, and a pop-up sign-in, all through the proxy', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);

    // 1. The B2C profile: code flow, form_post, openid profile email, client_secret_post.
    authParams = freshParams();
    await page.goto(`${proxy.origin}/demo/oidc/auth?${new URLSearchParams(authParams)}`);
    await page.waitForURL(`${proxy.origin}/demo/interaction/**`);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('E-mail address', { exact: true }).nth(1).fill('katherine@example.com');
    await page.getByLabel('Your name').fill('Katherine Johnson');
    await submitSignUpWithCode(page, proxy.origin, 'katherine@example.com');
    await page.getByRole('link', { name: /^Continue to / }).click();
    await page.waitForURL(`${rp.origin}/callback`);
    const first = rp.callbacks.at(-1)!;
    assert.equal(first.params.state, authParams.state);
    assert.equal(first.origin, proxy.origin, 'the form_post carries Sesame\'s Origin (Referrer-Policy is not no-referrer)');
    const claims = await redeem(first.params.code, authParams.nonce);
    assert.equal(claims.name, 'Katherine Johnson');
    assert.equal(claims.email, 'katherine@example.com');

    // 2. OIDC Core 3.1.2.1: the RP POSTs the authorization request from its own site; the session survives it.
    authParams = freshParams();
    await page.goto(`${rp.origin}/post`);
    await page.waitForURL(`${rp.origin}/callback`, { timeout: 8000 });
    const posted = rp.callbacks.at(-1)!;
    assert.equal(posted.params.state, authParams.state);
    assert.equal((await redeem(posted.params.code, authParams.nonce)).email, 'katherine@example.com');

    // 3. Pop-up sign-in (MSAL loginPopup, oidc-client signinPopup): the pop-up keeps its opener.
    authParams = freshParams();
    await page.goto(`${rp.origin}/popup`);
    const popupClosed = page.waitForEvent('popup').then((popup) => popup.waitForEvent('close'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await popupClosed;
    await page.locator('#result').filter({ hasText: 'code' }).waitFor({ timeout: 8000 });
    const result = JSON.parse(String(await page.locator('#result').textContent()));
    assert.equal(result.state, authParams.state);
    assert.equal((await redeem(result.code, authParams.nonce)).name, 'Katherine Johnson');
    await context.close();
  });

  test('a foreign Host, X-Forwarded-Host or X-Forwarded-Proto through the proxy changes no metadata URL', async () => {
    const metadataPath = '/demo/oidc/.well-known/openid-configuration';
    for (const headers of [{ host: 'evil.example' }, { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' }, { host: 'evil.example:8443', 'x-forwarded-host': 'evil.example' }]) {
      const metadata = await new Promise<Record<string, unknown>>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: proxy.port, path: metadataPath, servername: 'localhost', rejectUnauthorized: false, headers }, (res) => {
          let body = '';
          res.on('data', (c) => { body += c; });
          res.on('end', () => resolve(JSON.parse(body)));
        }).on('error', reject);
      });
      const urls = Object.entries(metadata).filter(([key]) => key === 'issuer' || key.endsWith('_endpoint') || key.endsWith('_uri'));
      assert.ok(urls.length >= 5);
      for (const [key, value] of urls) assert.ok(String(value).startsWith(`${proxy.origin}/demo/oidc/`) || value === `${proxy.origin}/demo/oidc`, `${JSON.stringify(headers)} → ${key}: ${value}`);
    }
  });

  test('a spoofed X-Forwarded-For changes neither the IP on the phone nor the rate-limit key', async () => {
    const started = await desktopStarts({ ...sesame, origin: proxy.origin }, client, {});
    assert.equal(started.started.status, 200);
    const spoofed = await started.ua.postJson(`${started.base}/crossdevice`, {}, { headers: { 'x-forwarded-for': '203.0.113.66' } });
    assert.equal(spoofed.status, 200, spoofed.text);
    for (const id of [started.request.id, spoofed.json().id]) {
      const details = (await started.ua.get(`${proxy.origin}/demo/x/${id}/details`)).json();
      assert.equal(details.ip, '127.0.0.1', 'the address nginx saw');
    }

    // Three ceremonies a minute per IP: a fourth with yet another made-up X-Forwarded-For is still the same client.
    const limits = { RATE_LIMIT_PER_IP: '3', PUBLIC_URL: proxy.origin };
    const behindProxy = await startTestServer('sqlite', { env: { ...limits, TRUST_PROXY: '1' } });
    const limitedProxy = await startTlsProxy({ port: await freePort(), upstreamPort: behindProxy.port, certificate });
    const direct = await startTestServer('sqlite', { env: limits });
    try {
      for (const base of [limitedProxy.origin, direct.origin]) {
        const statuses = [];
        for (let i = 1; i <= 4; i += 1) {
          const response = await fetch(`${base}/demo/passport/api/enrol/passkey/options`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', origin: proxy.origin, 'x-forwarded-for': `198.51.100.${i}` },
            body: '{}',
          });
          statuses.push(response.status);
        }
        assert.deepEqual(statuses, [200, 200, 200, 429], base);
      }
    } finally {
      await limitedProxy.close();
      await Promise.all([behindProxy.close(), direct.close()]);
    }
  });
});
