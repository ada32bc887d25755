import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium, submitSignUpWithCode, withVirtualAuthenticator } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';

/**
 * The sign-in page as people meet it, in Chromium at a desktop (1280×800) and a phone (390×844)
 * size: its structure, errors at the field, the expired page, the step after sign-up, the QR panel
 * and the phone's approval page, each checked with axe-core (WCAG 2.2 AA) as well.
 */
const skip = chromiumSkipReason();
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

let fixture: Promise<{ server: TestServer; browser: Browser }> | undefined;
const sharedFixture = () => (fixture ??= (async () => ({ server: await startTestServer('sqlite'), browser: await launchChromium() }))());
after(async () => {
  if (!fixture) return;
  const { server, browser } = await fixture;
  await browser.close();
  await server.close();
});

async function openSignIn(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.origin}/demo-rp/login`);
  await page.waitForURL(/\/demo\/interaction\//);
  await page.locator('#signin-email').waitFor();
}

describe('the sign-in page in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => ({ server, browser } = await sharedFixture()));

  test('desktop: one primary button, a visible way to create an account, the phone under other ways; no axe violations', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await page.setViewportSize(DESKTOP);
    await openSignIn(page, server);
    assert.equal(await page.locator('button.primary:visible').count(), 1);
    assert.equal(await page.locator('button.primary:visible').textContent(), 'Continue with passkey');
    assert.equal(await page.getByRole('button', { name: 'Create an account' }).isVisible(), true);
    assert.equal(await page.getByText('Other ways to sign in').isVisible(), true);
    assert.equal(await page.locator('#crossdevice-qr').count(), 1);
    assert.equal(await page.locator('#signin-form').getAttribute('method'), 'post', 'without JavaScript the address is never put in a URL');
    assert.deepEqual(await accessibilityViolations(page), []);
    await context.close();
  });

  test('phone: no QR code offered (the phone cannot scan itself); no axe violations', async () => {
    const context = await browser.newContext({ viewport: PHONE, userAgent: PHONE_UA, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await openSignIn(page, server);
    assert.equal(await page.locator('#crossdevice-qr').count(), 0);
    assert.equal(await page.getByText('Other ways to sign in').isVisible(), false);
    assert.equal(await page.locator('button.primary:visible').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Create an account' }).isVisible(), true);
    assert.deepEqual(await accessibilityViolations(page), []);
    await context.close();
  });

  test('a malformed address is explained at the field, which is marked invalid; the button keeps the focus while busy', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await openSignIn(page, server);
    await page.locator('#signin-email').fill('dorothy@example');
    await page.getByRole('button', { name: 'Continue with passkey' }).click();
    const field = page.locator('#signin-email');
    await page.locator('#signin-email-error').filter({ hasText: 'Enter your e-mail address in the form name@example.com.' }).waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.match(String(await field.getAttribute('aria-describedby')), /\bsignin-email-error\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'signin-email');

    await field.fill('nobody@example.com');
    await page.getByRole('button', { name: 'Continue with passkey' }).press('Enter');
    await page.locator('#signin-email-error').filter({ hasText: /don't know this e-mail address/ }).waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.notEqual(await page.evaluate(() => document.activeElement?.tagName), 'BODY');
    assert.equal(await page.locator('#signin-email-error').getByRole('button', { name: 'Create an account' }).isVisible(), true);
    await context.close();
  });

  test('an expired page disables every button and offers "Start again", which opens a new sign-in', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await openSignIn(page, server);
    const firstUrl = page.url();
    // The interaction cookie is what ties the page to its sign-in: without it the page is dead.
    await context.clearCookies();
    await page.locator('#signin-email').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Continue with passkey' }).click();
    const startAgain = page.getByRole('link', { name: 'Start again' });
    await startAgain.waitFor();
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('main button')].every((b) => (b as HTMLButtonElement).disabled)), true);
    assert.match(String(await startAgain.getAttribute('href')), /\/demo\/oidc\/auth\?.*client_id=/);
    await startAgain.click();
    await page.waitForURL((url) => /\/demo\/interaction\//.test(url.pathname) && url.href !== firstUrl);
    await page.locator('#signin-email').waitFor();
    await context.close();
  });

  test('after sign-up one step says where the passkey is, offers a phone, and continues to the application', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await openSignIn(page, server);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.locator('#signup-email').fill('katherine@example.com');
    await page.getByLabel('Your name').fill('Katherine Johnson');
    await submitSignUpWithCode(page, server.origin, 'katherine@example.com');
    await page.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    assert.match(String(await page.locator('#signed-up-where').textContent()), /Your passkey is saved (on this device|in your password manager)/);
    assert.equal(await page.getByRole('link', { name: /Add a phone/ }).getAttribute('href'), '/demo/account#phones');
    assert.equal(await page.locator('.primary:visible').count(), 1);
    assert.deepEqual(await accessibilityViolations(page), []);
    await page.getByRole('link', { name: /^Continue to / }).click();
    await page.waitForURL(/\/demo-rp\/callback/);
    assert.equal(await page.locator('td[data-claim="email"]').textContent(), 'katherine@example.com');

    await context.close();

    // The same address again, in another browser: the sign-up form says so at its field and offers to sign in instead.
    const other = await withVirtualAuthenticator(browser);
    await signUpWithTakenAddress(other.page);
    await other.context.close();
  });

  /** Sign-up with an address that has an account: refused at its field, with "Sign in instead". */
  async function signUpWithTakenAddress(page: Page) {
    await openSignIn(page, server);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.locator('#signup-email').fill('katherine@example.com');
    await page.getByLabel('Your name').fill('K. Johnson');
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.locator('#signup-email-error').filter({ hasText: /already exists/ }).waitFor();
    assert.equal(await page.locator('#signup-email').getAttribute('aria-invalid'), 'true');
    await page.locator('#signup-email-error').getByRole('button', { name: 'Sign in instead' }).click();
    assert.equal(await page.locator('#signin-email').inputValue(), 'katherine@example.com');
  }

  test('the QR panel replaces the other options, counts down, keeps the focus, and Cancel returns; the approval page on the phone; no axe violations', async () => {
    const desktop = await withVirtualAuthenticator(browser);
    await desktop.page.setViewportSize(DESKTOP);
    await openSignIn(desktop.page, server);
    await desktop.page.getByText('Other ways to sign in').click();
    await desktop.page.getByRole('button', { name: 'Use my phone' }).click();
    await desktop.page.locator('#crossdevice-link').filter({ hasText: /\/x\// }).waitFor();
    assert.equal(await desktop.page.locator('#signin-view').isVisible(), false);
    assert.equal(await desktop.page.evaluate(() => document.activeElement?.id), 'crossdevice-heading');
    assert.match(String(await desktop.page.locator('#crossdevice-countdown').textContent()), /A new code comes in \d:\d\d/);
    assert.equal(await desktop.page.locator('#crossdevice-number').getAttribute('aria-live'), 'polite');
    assert.deepEqual(await accessibilityViolations(desktop.page), []);
    const link = String(await desktop.page.locator('#crossdevice-link').getAttribute('href'));

    const phone = await browser.newContext({ viewport: PHONE, userAgent: PHONE_UA, isMobile: true, timezoneId: 'Asia/Tokyo' });
    const phonePage = await phone.newPage();
    await phonePage.goto(link);
    await phonePage.getByText('Which number is shown on your computer?').waitFor();
    assert.equal(await phonePage.locator('#request-details dd').nth(2).textContent(), 'this computer');
    assert.match(String(await phonePage.locator('#asked-at').textContent()), /GMT\+9/);
    assert.deepEqual(await accessibilityViolations(phonePage), []);
    await phone.close();

    await desktop.page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await desktop.page.locator('#signin-view').isVisible(), true);
    assert.equal(await desktop.page.locator('#crossdevice').isVisible(), false);
    assert.equal(await desktop.page.evaluate(() => document.activeElement?.id), 'crossdevice-qr');
    await desktop.context.close();
  });
});
