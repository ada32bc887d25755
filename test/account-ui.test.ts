import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { createClient, signUpThroughRp } from './support/flow.js';
import { chromiumSkipReason, launchChromium, withVirtualAuthenticator } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';

/**
 * The account page in Chromium, on a desktop and on a phone: passkeys named after their provider,
 * "This device", local times, rename, removal through the confirmation dialog, the WebAuthn Signal
 * API, keyboard focus, no word split across lines, and no axe-core violation.
 */
const skip = chromiumSkipReason();
const GOOGLE_PASSWORD_MANAGER = 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4';
const TIME_ZONE = 'Asia/Tokyo';

let fixture: Promise<{ server: TestServer; browser: Browser }> | undefined;
const sharedFixture = () => (fixture ??= (async () => ({ server: await startTestServer('sqlite'), browser: await launchChromium() }))());
after(async () => {
  if (!fixture) return;
  const { server, browser } = await fixture;
  await browser.close();
  await server.close();
});

/**
 * An account with a synced Google Password Manager passkey and a device-bound security key (both
 * registered over HTTP with software authenticators, so that their AAGUIDs are known), and the
 * synced passkey in the form the DevTools virtual authenticator takes.
 */
async function accountWithTwoPasskeys(server: TestServer, email: string, name: string) {
  const synced = new SoftwareAuthenticator({ synced: true, aaguid: GOOGLE_PASSWORD_MANAGER });
  await signUpThroughRp(server, await createClient(server), email, name, synced);
  const account = `${server.origin}/demo/account`;
  const ua = new UserAgent(server.origin);
  const start = (await ua.postJson(`${account}/signin/options`, {})).json();
  assert.equal((await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: synced.getAssertion(start.options, server.origin) })).status, 200);
  const key = new SoftwareAuthenticator();
  const add = (await ua.postJson(`${account}/passkeys/options`, {})).json();
  assert.equal((await ua.postJson(`${account}/passkeys/verify`, { challengeId: add.challengeId, response: key.createCredential(add.options, server.origin) })).status, 200);
  const [[syncedId, stored]] = synced.credentials.entries();
  const [keyId] = key.credentials.keys();
  const credential = {
    credentialId: Buffer.from(syncedId, 'base64url').toString('base64'),
    isResidentCredential: true,
    rpId: 'localhost',
    privateKey: stored.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    userHandle: Buffer.from(stored.userHandle, 'base64url').toString('base64'),
    signCount: stored.signCount,
  };
  return { credential, syncedId, keyId };
}

/** Records the page's calls of the WebAuthn Signal API (and still makes them). */
function recordSignals(): void {
  const calls: Array<[string, unknown]> = [];
  (window as unknown as { signalCalls: typeof calls }).signalCalls = calls;
  for (const name of ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails']) {
    const pkc = PublicKeyCredential as unknown as Record<string, (options: unknown) => Promise<void>>;
    const original = pkc[name];
    if (typeof original !== 'function') continue;
    pkc[name] = (options: unknown) => {
      calls.push([name, options]);
      return original.call(PublicKeyCredential, options);
    };
  }
}

const signalCalls = (page: Page) => page.evaluate(() => (window as unknown as { signalCalls: Array<[string, unknown]> }).signalCalls);

/** Words of headings, buttons, dates and labels that the layout split across two lines. */
const splitWords = (page: Page) => page.evaluate(() => {
  const split: string[] = [];
  for (const element of document.querySelectorAll<HTMLElement>('.account :is(h1, h2, h3, button, summary, time, dt, label, .badge)')) {
    if (!element.checkVisibility()) continue;
    const texts = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      for (const word of node.textContent!.matchAll(/[^\s-]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) split.push(word[0]);
      }
    }
  }
  return split;
});

const overflowsSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

const viewports: Array<{ name: string; options: BrowserContextOptions }> = [
  { name: 'desktop 1280×800', options: { viewport: { width: 1280, height: 800 } } },
  { name: 'phone 390×844, dark', options: { viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true } },
];

describe('account page in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => ({ server, browser } = await sharedFixture()));

  viewports.forEach(({ name, options }, index) => {
    test(`${name}: provider names, This device, local times, rename, remove after confirming, Signal API, no axe violations`, async () => {
      const { credential, syncedId, keyId } = await accountWithTwoPasskeys(server, `ada${index}@example.com`, 'Ada Lovelace');
      const { page, cdp, authenticatorId, context } = await withVirtualAuthenticator(browser, { ...options, locale: 'en-GB', timezoneId: TIME_ZONE });
      try {
        await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
        await page.addInitScript(recordSignals);
        await page.goto(`${server.origin}/demo/account`);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await page.getByRole('heading', { name: 'Your passkeys', exact: true }).waitFor();

        const synced = page.locator(`li.passkey[data-credential-id="${syncedId}"]`);
        const key = page.locator(`li.passkey[data-credential-id="${keyId}"]`);
        assert.equal(await synced.locator('h3').textContent(), 'Google Password Manager');
        assert.equal(await synced.locator('.badge').textContent(), 'This device');
        assert.equal(await key.locator('h3').textContent(), 'Passkey');
        assert.equal(await key.locator('.passkey-description').textContent(), 'Device-bound passkey');
        assert.equal(await key.locator('.badge').count(), 0);

        const added = key.locator('time').first();
        const at = new Date(String(await added.getAttribute('datetime')));
        const tokyo = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: TIME_ZONE }).format(at);
        assert.match(String(await added.textContent()), new RegExp(`${tokyo}$`), 'shown in the reader\'s time zone');
        assert.doesNotMatch(String(await added.textContent()), /UTC/);

        const calls = await signalCalls(page);
        const userId = Buffer.from(credential.userHandle, 'base64').toString('base64url');
        assert.deepEqual(calls.find(([n]) => n === 'signalAllAcceptedCredentials')?.[1], { rpId: 'localhost', userId, allAcceptedCredentialIds: [syncedId, keyId] });
        assert.deepEqual(calls.find(([n]) => n === 'signalCurrentUserDetails')?.[1], { rpId: 'localhost', userId, name: `ada${index}@example.com`, displayName: 'Ada Lovelace' });

        assert.deepEqual(await splitWords(page), [], 'no word is split across lines');
        assert.equal(await overflowsSideways(page), false);

        // Rename the passkey in use; focus comes back to the Rename control, the status says so.
        await synced.locator('summary').click();
        await synced.getByLabel('New name').fill('Work laptop');
        assert.deepEqual(await accessibilityViolations(page), [], 'the page with a rename form open');
        await synced.getByRole('button', { name: 'Save name' }).click();
        await page.locator('#status').filter({ hasText: 'Renamed to “Work laptop”.' }).waitFor();
        assert.equal(await synced.locator('h3').textContent(), 'Work laptop');
        assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'SUMMARY');

        // Removing asks first; "Keep" keeps it and gives focus back to its button.
        const remove = key.getByRole('button', { name: 'Remove Passkey' });
        await remove.click();
        const dialog = page.getByRole('dialog', { name: 'Remove “Passkey”?' });
        await dialog.waitFor();
        assert.equal(await dialog.locator('#confirm-remove-this-device').isVisible(), false, 'it is not the passkey in use');
        assert.deepEqual(await accessibilityViolations(page), [], 'the dialog');
        await dialog.getByRole('button', { name: 'Keep' }).click();
        await dialog.waitFor({ state: 'hidden' });
        assert.equal(await key.count(), 1);
        assert.equal(await remove.evaluate((button) => button === document.activeElement), true);

        await remove.click();
        await dialog.getByRole('button', { name: 'Remove' }).click();
        await page.locator('#status').filter({ hasText: 'Removed “Passkey”.' }).waitFor();
        assert.equal(await key.count(), 0);
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'status', 'focus goes to the status, not to <body>');
        assert.deepEqual((await signalCalls(page)).find(([n]) => n === 'signalUnknownCredential')?.[1], { rpId: 'localhost', credentialId: keyId });
        const last = synced.getByRole('button', { name: 'Remove Work laptop' });
        assert.equal(await last.isDisabled(), true, 'the last passkey cannot be removed');
        assert.equal(await synced.locator('.last-passkey').isVisible(), true, 'and the page says why');

        await page.reload();
        assert.deepEqual(await page.locator('li.passkey h3').allTextContents(), ['Work laptop'], 'the server kept both changes');

        // Setting up a phone: the link wraps inside the card even at 320 px.
        if (options.isMobile) await page.setViewportSize({ width: 320, height: 700 });
        await page.getByRole('button', { name: 'Set up a phone' }).click();
        await page.locator('#enrolment-link').filter({ hasText: /#enrol=/ }).waitFor();
        const card = await page.locator('main').boundingBox();
        const link = await page.locator('#enrolment-link').boundingBox();
        assert.ok(card && link && link.x + link.width <= card.x + card.width, 'the enrolment link stays inside the card');
        assert.deepEqual(await splitWords(page), []);
        assert.equal(await overflowsSideways(page), false);
        assert.deepEqual(await accessibilityViolations(page), []);
      } finally {
        await context.close();
      }
    });
  });
});
