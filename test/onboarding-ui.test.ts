import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium, withVirtualAuthenticator } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';
import { receivedMail, startSmtp, type TestSmtp } from './support/mailbox.js';

/**
 * The whole of onboarding in Chromium, as an organisation lives it (issue 11, point 8): the form at
 * /onboard, the verification mail through a real SMTP server, the administrator's passkey (DevTools
 * virtual authenticator), the B2C client created in the console; then a person signs up through
 * that client exactly as Azure AD B2C drives it, and B2C's token request gets the ID token claims.
 */
const skip = chromiumSkipReason();
const B2C_TENANT = 'contosob2c';
const B2C_REDIRECT = `https://${B2C_TENANT}.b2clogin.com/${B2C_TENANT}.onmicrosoft.com/oauth2/authresp`;
const NONCE = 'CpKTVRSC/gtFG0FSaQEp+g==';
const STATE = `StateProperties=${Buffer.from(JSON.stringify({ SID: `x-ms-cpim-rc.${'a'.repeat(300)}`, TID: '3f2b1c8e-0000-4000-8000-000000000000', TOID: 'b2c_1_susi' })).toString('base64')}`;

const textOf = (mail: { text?: string | false }) => (typeof mail.text === 'string' ? mail.text : '');
const linkIn = (text: string, path: string) => {
  const link = new RegExp(`(https?://\\S*${path}\\S*)`).exec(text)?.[1];
  assert.ok(link, `a ${path} link in: ${text}`);
  return link;
};

describe('onboarding in Chromium, through to a B2C sign-in', { skip }, () => {
  let smtp: TestSmtp;
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    smtp = await startSmtp();
    server = await startTestServer('sqlite', {
      env: { ONBOARDING: 'open', SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, MAIL_FROM: 'no-reply@sesame.example' },
      mailTuning: { pollIntervalMs: 50 },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
  });

  test('form, mail, verification, administrator passkey, B2C client in the console, then a person signs in through B2C', async () => {
    const admin = await withVirtualAuthenticator(browser);
    const { page } = admin;
    let clientId: string;
    let clientSecret: string;
    try {
      // The form: the tenant id follows the organisation's name and is checked as it is typed.
      await page.goto(`${server.origin}/onboard`);
      await page.getByLabel('Organisation name').fill('Contoso Pharmacy');
      assert.equal(await page.getByLabel('Tenant id').inputValue(), 'contoso-pharmacy');
      await page.locator('#tenant-id-check').filter({ hasText: '“contoso-pharmacy” is available.' }).waitFor();
      await page.getByLabel('Your e-mail address').fill('it@contoso-pharmacy.example');
      assert.deepEqual(await accessibilityViolations(page), []);
      await page.getByRole('button', { name: 'Send me the link' }).click();
      await page.getByRole('heading', { name: 'Check your mail' }).waitFor();

      // The verification mail, delivered over SMTP; its link leads to the administrator's passkey.
      const verification = await receivedMail(smtp, 'it@contoso-pharmacy.example', /Confirm your address to set up Contoso Pharmacy/);
      assert.deepEqual(verification.from?.value, [{ name: 'Sesame', address: 'no-reply@sesame.example' }]);
      await page.goto(linkIn(textOf(verification), '/admin/enrol#'));
      await page.locator('#enrol-what').filter({ hasText: 'Your address is confirmed' }).waitFor();
      assert.deepEqual(await accessibilityViolations(page), []);
      await page.getByRole('button', { name: 'Create a passkey' }).click();

      // The console of the new tenant: its access details, and the B2C client made right there.
      await page.waitForURL(`${server.origin}/admin/tenants/contoso-pharmacy?done=welcome`);
      const details = await page.locator('.facts').first().textContent() ?? '';
      for (const value of [`${server.origin}/admin/tenants/contoso-pharmacy`, `${server.origin}/contoso-pharmacy/oidc`, `${server.origin}/contoso-pharmacy/oidc/.well-known/openid-configuration`]) {
        assert.ok(details.includes(value), value);
      }
      assert.deepEqual(await accessibilityViolations(page), []);
      await page.getByLabel('B2C tenant name').fill(B2C_TENANT);
      await page.getByRole('button', { name: 'Create the B2C client' }).click();
      await page.getByRole('heading', { name: /is created/ }).waitFor();
      clientId = (await page.locator('#client-credentials dd code').first().textContent())!;
      clientSecret = (await page.locator('#client-secret').textContent())!;
      const form = await page.locator('.setup-fields').textContent() ?? '';
      for (const value of [`${server.origin}/contoso-pharmacy/oidc/.well-known/openid-configuration`, clientId, clientSecret, 'openid profile email', 'form_post']) {
        assert.ok(form.includes(value), `B2C's form gets ${value}`);
      }
      assert.deepEqual(await accessibilityViolations(page), []);

      // The same access details arrive by mail, and the client's values too, never the secret.
      const ready = textOf(await receivedMail(smtp, 'it@contoso-pharmacy.example', /The tenant of Contoso Pharmacy is ready/));
      assert.ok(ready.includes(`${server.origin}/contoso-pharmacy/oidc/.well-known/openid-configuration`));
      const clientMail = textOf(await receivedMail(smtp, 'it@contoso-pharmacy.example', /Application "Contoso Pharmacy" created/));
      assert.ok(clientMail.includes(clientId));
      assert.ok(clientMail.includes(B2C_REDIRECT));
      assert.ok(!clientMail.includes(clientSecret), 'the secret is not mailed');
    } finally {
      await admin.context.close();
    }

    // A person signs up through the new client, exactly as Azure AD B2C sends them.
    const person = await withVirtualAuthenticator(browser);
    try {
      let formPost: URLSearchParams | undefined;
      await person.page.route(`${B2C_REDIRECT}**`, async (route) => {
        formPost = new URLSearchParams(route.request().postData() ?? '');
        await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>B2C</title><h1>Back at B2C</h1>' });
      });
      const authorize = new URL(`${server.origin}/contoso-pharmacy/oidc/auth`);
      authorize.search = new URLSearchParams({
        client_id: clientId, redirect_uri: B2C_REDIRECT, response_type: 'code', scope: 'openid profile email', response_mode: 'form_post',
        nonce: NONCE, state: STATE, ui_locales: 'en-US', domain_hint: 'sesame',
      }).toString();
      await person.page.goto(authorize.href);
      await person.page.getByRole('button', { name: 'Create an account' }).click();
      await person.page.getByLabel('E-mail address', { exact: true }).nth(1).fill('mary@contoso.example');
      await person.page.getByLabel('Your name').fill('Mary Jackson');
      await person.page.getByRole('button', { name: 'Continue', exact: true }).click();
      const code = /^\s*(\d{6})\s*$/m.exec(textOf(await receivedMail(smtp, 'mary@contoso.example', /Confirm your e-mail address/)))?.[1];
      assert.ok(code, 'the sign-up code, by mail');
      await person.page.getByLabel('Code from the mail').fill(code);
      await person.page.getByRole('button', { name: 'Confirm and create a passkey' }).click();
      await person.page.getByRole('link', { name: /^Continue to / }).click();
      await person.page.getByRole('heading', { name: 'Back at B2C' }).waitFor();
      const posted = formPost as URLSearchParams | undefined;
      if (!posted) throw new Error('B2C received no form_post');
      assert.ok(posted.get('code'), 'B2C receives a code by form_post');
      assert.equal(posted.get('state'), STATE, 'state round-trips byte for byte');

      // B2C redeems the code with the secret from the console (client_secret_post) and reads the ID token.
      const response = await fetch(`${server.origin}/contoso-pharmacy/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: posted.get('code')!, redirect_uri: B2C_REDIRECT, client_id: clientId, client_secret: clientSecret, scope: 'openid profile email' }),
      });
      const tokens = await response.json();
      assert.equal(response.status, 200, JSON.stringify(tokens));
      const { payload: claims, protectedHeader } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(`${server.origin}/contoso-pharmacy/oidc/jwks`)), {
        issuer: `${server.origin}/contoso-pharmacy/oidc`, audience: clientId,
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(claims.nonce, NONCE, 'nonce echoed byte for byte');
      assert.equal(claims.name, 'Mary Jackson');
      assert.equal(claims.email, 'mary@contoso.example');
      assert.equal(claims.email_verified, true);
      assert.equal(typeof claims.sub, 'string');
      assert.equal(typeof claims.auth_time, 'number');
      assert.ok((claims.amr as string[]).includes('user'), `amr ${JSON.stringify(claims.amr)}`);
      assert.equal(claims.acr, 'phr');
    } finally {
      await person.context.close();
    }

    // The new tenant's dashboard counts the sign-up.
    const stats = await server.services.auditStats.dashboard('contoso-pharmacy', 1);
    assert.equal(stats.days[0]!.counts.signup.succeeded, 1);
  });
});
