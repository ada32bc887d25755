import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium, withVirtualAuthenticator, type VirtualAuthenticator } from './support/browser.js';
import { createClient, signUpThroughRp } from './support/flow.js';
import { desktopStarts } from './support/crossdevice.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { accessibilityViolations } from './support/axe.js';

/**
 * Passport and the approval page as a person uses them on a phone (390×844, Chromium with a virtual
 * authenticator): which account Passport holds, requests listed with notifications off, a code's link
 * handed to the scanner's handler, and a phone without a passkey telling the computer at once.
 * The camera cannot be used headless: the link field takes what the camera would have read.
 */
const skip = chromiumSkipReason();
const PHONE = { width: 390, height: 844 };
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

describe('Passport on a phone in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let client: Client;
  let phone: VirtualAuthenticator;

  before(async () => {
    [server, browser] = await Promise.all([startTestServer('sqlite'), launchChromium()]);
    client = await createClient(server);
    await signUpThroughRp(server, client, 'grace@example.com', 'Grace Hopper', new SoftwareAuthenticator());
    phone = await withVirtualAuthenticator(browser, { viewport: PHONE, userAgent: PHONE_UA, isMobile: true, hasTouch: true });
    const tenant = await server.services.tenants.requireTenant('demo');
    const user = (await server.services.passkeys.findUserByEmail('demo', 'grace@example.com'))!;
    const { link } = await server.services.passport.createEnrolmentLink(tenant, user);
    await phone.page.goto(link);
    await phone.page.getByRole('button', { name: 'Set up with the link from my computer' }).click();
    await phone.page.locator('#status').filter({ hasText: /This phone is set up/ }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('Passport shows which account it holds; no axe violations', async () => {
    await phone.page.locator('#account').filter({ hasText: 'Grace Hopper (grace@example.com)' }).waitFor();
    assert.match(String(await phone.page.locator('#push-state').textContent()), /Notifications are off\. Sign-in requests show up below while Passport is open/);
    assert.equal(await phone.page.locator('#ios-install').isVisible(), false, 'no Home Screen hint outside iOS');
    assert.deepEqual(await accessibilityViolations(phone.page), []);
  });

  test('refused notifications are told as such, not as a cancelled passkey', async () => {
    await phone.page.getByRole('button', { name: 'Turn on sign-in notifications' }).click();
    const status = phone.page.locator('#status.error');
    await status.waitFor();
    assert.match(String(await status.textContent()), /^Notifications (are blocked|were not turned on)\b.*show up here while Passport is open\.$/);
  });

  test('on an iPhone outside the Home Screen, Passport explains how to get notifications', async () => {
    const iphone = await browser.newContext({
      viewport: PHONE, isMobile: true, hasTouch: true,
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    });
    const page = await iphone.newPage();
    await page.goto(`${server.origin}/demo/passport/`);
    assert.match(String(await page.locator('#ios-install').textContent()), /Add to Home Screen/);
    assert.equal(await page.locator('#ios-install').isVisible(), true);
    await iphone.close();
  });

  test('with notifications off, a push request is listed in the open Passport and approved from there; no axe violations on the approval page', async () => {
    const { ua, base, started, request } = await desktopStarts(server, client, { email: 'grace@example.com', push: true });
    assert.equal(started.status, 200, started.text);
    assert.equal(started.json().inPassport, true);
    const listed = phone.page.locator(`#requests a[href="/demo/x/${request.id}"]`);
    await listed.waitFor({ timeout: 10_000 });
    await listed.click();
    await phone.page.waitForURL(`${server.origin}/demo/x/${request.id}`);
    assert.match(String(await phone.page.locator('#request-details').textContent()), /grace@example\.com/);
    assert.deepEqual(await accessibilityViolations(phone.page), []);
    await phone.page.getByRole('button', { name: String(request.number), exact: true }).click();
    await phone.page.locator('#status').filter({ hasText: /Approved/ }).waitFor();
    assert.equal((await ua.postJson(`${base}/crossdevice/${request.id}/complete`, {})).status, 200);
  });

  test('the scanner\'s handler opens a request link of this Sesame and refuses anything else', async () => {
    await phone.page.goto(`${server.origin}/demo/passport/`);
    const field = phone.page.getByLabel('Or paste the link shown under the code');
    const { request } = await desktopStarts(server, client);
    for (const foreign of ['https://evil.example.com/demo/x/AAAAAAAAAAAAAAAAAAAAAA', `${server.origin}/demo/account`, `${request.link}?next=https://evil.example.com`, 'not a link']) {
      await field.fill(foreign);
      await phone.page.getByRole('button', { name: 'Open the sign-in request' }).click();
      await phone.page.locator('#request-link-error').filter({ hasText: /not a sign-in code of Demo Shop/ }).waitFor();
      assert.equal(phone.page.url(), `${server.origin}/demo/passport/`, foreign);
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
    }
    await field.fill(request.link);
    await phone.page.getByRole('button', { name: 'Open the sign-in request' }).click();
    await phone.page.waitForURL(request.link);
    await phone.page.locator('.choice').first().waitFor();
  });

  test('a phone without a passkey says so, and the computer hears it at once and offers another way', async () => {
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await desktop.newPage();
    await page.goto(`${server.origin}/demo-rp/login`);
    await page.waitForURL(/\/demo\/interaction\//);
    await page.getByText('Other ways to sign in').click();
    await page.getByRole('button', { name: 'Use my phone' }).click();
    await page.locator('#crossdevice-link').filter({ hasText: /\/x\// }).waitFor();
    const link = String(await page.locator('#crossdevice-link').getAttribute('href'));
    const number = String(await page.locator('#crossdevice-number').textContent());

    // Another phone: its authenticator holds no passkey for this site.
    const bare = await withVirtualAuthenticator(browser, { viewport: PHONE, userAgent: PHONE_UA, isMobile: true, hasTouch: true });
    await bare.page.goto(link);
    await bare.page.getByRole('button', { name: number, exact: true }).click();
    await bare.page.locator('#status').filter({ hasText: 'This phone has no passkey for your Demo Shop account. Use a phone where you have one, or sign in on the computer.' }).waitFor();
    assert.equal(await bare.page.locator('.choice').count(), 0, 'nothing left to press');
    assert.deepEqual(await accessibilityViolations(bare.page), []);

    await page.locator('#crossdevice-status').filter({ hasText: 'Your phone has no passkey for this account.' }).waitFor({ timeout: 5000 });
    const otherWay = page.getByRole('button', { name: 'Try another way' });
    await otherWay.click();
    assert.equal(await page.locator('#crossdevice').isVisible(), false, 'back to the other ways of signing in');
    await Promise.all([desktop.close(), bare.context.close()]);
  });
});
