import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium, submitSignUpWithCode, withVirtualAuthenticator } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';

/**
 * The sign-in page of a tenant whose sign-up is by invitation, in Chromium: a person without an
 * invitation is told how to get one instead of being led to a form that would refuse them (also
 * when the application asks for prompt=create); the browser that accepted an invitation signs up
 * as usual. Every state is checked with axe-core (WCAG 2.2 AA).
 */
const skip = chromiumSkipReason();
const EXPLANATION = 'This organisation adds people by invitation. Ask your administrator for one.';

describe('sign-in page of an invitation-only tenant in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer('sqlite');
    browser = await launchChromium();
    await server.services.tenants.setSignup('demo', 'invitation');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openSignIn(page: Page, prompt?: string): Promise<void> {
    if (prompt) {
      // The demo application's own authorization request (its state and nonce in this browser), asking for prompt=create.
      const started = await page.request.get(`${server.origin}/demo-rp/login`, { maxRedirects: 0 });
      const auth = new URL(started.headers().location!, server.origin);
      auth.searchParams.set('prompt', prompt);
      await page.goto(auth.href);
    } else {
      await page.goto(`${server.origin}/demo-rp/login`);
    }
    await page.waitForURL(/\/demo\/interaction\//);
  }

  test('without an invitation: the page says how to get one, offers no sign-up form, and an unknown address offers no dead end', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await openSignIn(page);
    await page.locator('#signin-email').waitFor();
    const newHere = page.getByRole('region', { name: 'New here?' });
    assert.equal(await newHere.getByText(EXPLANATION).isVisible(), true);
    assert.equal(await page.getByRole('button', { name: 'Create an account' }).count(), 0);
    assert.equal(await page.locator('#signup-form').count(), 0);
    assert.deepEqual(await accessibilityViolations(page), []);

    await page.locator('#signin-email').fill('stranger@example.com');
    await page.getByRole('button', { name: 'Continue with passkey' }).click();
    const error = page.locator('#signin-email-error');
    await error.filter({ hasText: 'We don\'t know this e-mail address. Check it, or create an account if you were invited.' }).waitFor();
    assert.equal(await error.getByRole('button').count(), 0, 'no "Create an account" next to the message');
    assert.deepEqual(await accessibilityViolations(page), []);
    await context.close();
  });

  test('prompt=create without an invitation: "Create an account" explains, and "Sign in" leads to the sign-in form', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await openSignIn(page, 'create');
    const heading = page.getByRole('heading', { name: 'Create an account' });
    await heading.waitFor();
    assert.equal(await page.locator('#signup-closed').textContent(), EXPLANATION);
    assert.equal(await page.locator('#signin-view').isVisible(), false);
    assert.equal(await page.getByRole('textbox').count(), 0, 'no field to fill in for nothing');
    assert.deepEqual(await accessibilityViolations(page), []);
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.locator('#signin-email').isVisible(), true);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'signin-email');
    await context.close();
  });

  test('a browser that accepted an invitation signs up as usual, with prompt=create too', async () => {
    const { link } = await server.services.invitations.create('demo', { maxUses: 2 });
    const { page, context } = await withVirtualAuthenticator(browser);
    await page.goto(link);
    await page.getByRole('button', { name: 'Accept the invitation' }).click();
    await page.getByRole('status').getByText(/Now open the application/).waitFor();

    await openSignIn(page, 'create');
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    assert.equal(await page.locator('#signup-form').isVisible(), true);
    assert.equal(await page.getByText(EXPLANATION).count(), 0);

    await openSignIn(page);
    assert.equal(await page.getByText(EXPLANATION).count(), 0);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.locator('#signup-email').fill('invited@example.com');
    await page.getByLabel('Your name').fill('Invited Person');
    assert.deepEqual(await accessibilityViolations(page), []);
    await submitSignUpWithCode(page, server.origin, 'invited@example.com');
    await page.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    await page.getByRole('link', { name: /^Continue to / }).click();
    await page.waitForURL(/\/demo-rp\/callback/);
    assert.equal(await page.locator('td[data-claim="email"]').textContent(), 'invited@example.com');
    await context.close();
  });
});
