import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { freePort, startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium, withVirtualAuthenticator } from './support/browser.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { createClient, signUpThroughRp } from './support/flow.js';
import { sealedColumn } from '../src/secrets/sealed-columns.js';
import { accessibilityViolations } from './support/axe.js';

/**
 * "Lost your passkey?" as a person meets it in Chromium: the e-mail step, the code from the mail,
 * a new passkey on this device (a virtual authenticator), the old passkeys to remove, and the
 * demo application signed in. Each recovery page is checked with axe-core (WCAG 2.2 AA).
 */
const skip = chromiumSkipReason();

describe('account recovery in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    // SMTP that never answers: the code mail stays in the outbox, where the test reads it.
    server = await startTestServer('sqlite', { env: { SMTP_URL: `smtp://127.0.0.1:${await freePort()}` } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('lost passkey → e-mailed code → new passkey → old ones removed → signed in; no axe violations', async () => {
    const client = await createClient(server);
    await signUpThroughRp(server, client, 'mary@example.com', 'Mary Jackson', new SoftwareAuthenticator());

    const { page, context } = await withVirtualAuthenticator(browser);
    await page.goto(`${server.origin}/demo-rp/login`);
    await page.waitForURL(/\/demo\/interaction\//);
    const lost = page.getByRole('button', { name: 'Lost your passkey?' });
    assert.equal(await lost.isVisible(), true, 'offered next to the passkey button');
    await lost.click();
    await page.getByRole('heading', { name: 'Lost your passkey?' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'recovery-heading');
    assert.deepEqual(await accessibilityViolations(page), []);

    await page.getByLabel('E-mail address').and(page.locator('#recovery-email')).fill('mary@example.com');
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByText('If this address has an account, we sent a code to it.').waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);

    const row = await server.services.database.db.selectFrom('mail_outbox').selectAll()
      .where('recipient', '=', 'mary@example.com').where('template', '=', 'recovery-code').executeTakeFirstOrThrow();
    const { code } = JSON.parse(server.services.database.secrets.open(row.data, sealedColumn.mailData(row.id)));

    await page.getByLabel('Code from the e-mail').fill('ZZZZ-ZZZZ');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#recovery-code-error').filter({ hasText: /not right/ }).waitFor();
    assert.equal(await page.locator('#recovery-code').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Code from the e-mail').fill(code);
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Save a new passkey' }).waitFor();
    assert.deepEqual(await accessibilityViolations(page), []);
    await page.getByRole('button', { name: 'Save a passkey on this device' }).click();

    await page.getByRole('heading', { name: 'Remove your old passkeys?' }).waitFor();
    assert.equal(await page.getByRole('checkbox').count(), 1);
    assert.deepEqual(await accessibilityViolations(page), []);
    await page.getByRole('button', { name: 'Remove all others and continue' }).click();

    await page.waitForURL(/\/demo-rp\/callback/);
    assert.equal(await page.locator('td[data-claim="email"]').textContent(), 'mary@example.com');
    const user = await server.services.passkeys.findUserByEmail('demo', 'mary@example.com');
    const passkeys = await server.services.passkeys.listPasskeys('demo', user!.id);
    assert.equal(passkeys.length, 1, 'the old passkey is gone, the new one stays');
    await context.close();
  });
});
