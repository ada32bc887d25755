import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';
import { createClient, signUpThroughRp } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * The pages the flow tests do not dwell on — errors, sign-out, the e-mail link's landing page, the
 * demo relying party and the development outbox — each checked with axe-core (WCAG 2.2 AA), on a
 * desktop and on a phone. (The sign-in, account, recovery, approval and Passport pages have their
 * own browser tests, with axe too.)
 */
const skip = chromiumSkipReason();

const PAGES: Array<{ name: string; path: string; expect: RegExp }> = [
  { name: 'unknown tenant (error page)', path: '/nowhere/account', expect: /Not found|no tenant/i },
  { name: 'expired sign-in page', path: '/demo/interaction/not-a-real-one', expect: /Start again|expired|sign-in/i },
  { name: 'e-mail link landing page', path: '/demo/verify-email?v=unknown&t=unknown', expect: /e-mail|address|link/i },
  { name: 'demo relying party', path: '/demo-rp/', expect: /Sign in with Sesame/ },
  { name: 'development outbox', path: '/dev/outbox', expect: /outbox|mail/i },
];

describe('every other page in Chromium passes axe-core', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let client: Client;
  before(async () => {
    server = await startTestServer('sqlite');
    client = await createClient(server);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const viewport of [{ name: 'desktop', width: 1280, height: 800 }, { name: 'phone', width: 390, height: 844 }]) {
    test(`${viewport.name}: ${PAGES.map((p) => p.name).join(', ')}`, async () => {
      const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
      try {
        const page: Page = await context.newPage();
        for (const { name, path, expect } of PAGES) {
          await page.goto(`${server.origin}${path}`);
          assert.match(String(await page.locator('body').textContent()), expect, `${name} shows what it is for`);
          assert.deepEqual(await accessibilityViolations(page), [], name);
        }
        // Sign-out: the confirmation page (for a browser with a session), then the signed-out page.
        const { ua } = await signUpThroughRp(server, client, `leaving-${viewport.name}@example.com`, 'Leaving');
        const cookies = await ua.jar.getCookies(`${server.origin}/demo/oidc/session/end`);
        await context.addCookies(cookies.map((c) => ({ name: c.key, value: c.value, domain: 'localhost', path: c.path ?? '/', httpOnly: c.httpOnly, secure: false, sameSite: 'Lax' as const })));
        await page.goto(`${server.origin}/demo/oidc/session/end`);
        assert.match(String(await page.locator('body').textContent()), /sign out/i, 'sign-out confirmation');
        assert.deepEqual(await accessibilityViolations(page), [], 'sign-out confirmation');
        await page.getByRole('button', { name: 'Yes, sign me out' }).click();
        await page.waitForURL(/\/session\/end\/success/);
        assert.match(String(await page.locator('body').textContent()), /signed out/i);
        assert.deepEqual(await accessibilityViolations(page), [], 'signed-out page');
      } finally {
        await context.close();
      }
    });
  }
});
