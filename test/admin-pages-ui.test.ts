import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.js';
import { chromiumSkipReason, launchChromium } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';
import { authorizeUrl, RP_REDIRECT, signUpThroughRp } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * The two pages this work added, in Chromium with axe-core (WCAG 2.2 AA): the invitation page
 * (its token read from the fragment, accepted with the keyboard) and the "no access" page a
 * person meets at a client open only to some groups, whose button hands access_denied to the client.
 */
const skip = chromiumSkipReason();

describe('invitation and no-access pages in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  before(async () => {
    server = await startTestServer('sqlite');
    browser = await launchChromium();
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  test('the invitation page: accepted with the keyboard, says what to do next, passes axe before and after', async () => {
    await server.services.tenants.setSignup('demo', 'invitation');
    const { link } = await server.services.invitations.create('demo', { maxUses: 1 });
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(link);
    assert.match(String(await page.locator('h1').textContent()), /You are invited to Demo Shop/);
    assert.deepEqual(await accessibilityViolations(page), [], 'invitation page');
    await page.getByRole('button', { name: 'Accept the invitation' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').getByText(/Now open the application/).waitFor();
    assert.deepEqual(await accessibilityViolations(page), [], 'invitation accepted');
    const cookie = (await context.cookies()).find((c) => c.name === 'sesame_invitation');
    assert.ok(cookie?.httpOnly && cookie.path === '/demo/', 'kept in an HttpOnly cookie for this tenant\'s pages');
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar (and the history) once it is kept');
    await server.services.tenants.setSignup('demo', 'open');
  });

  test('the no-access page passes axe, and its button tells the client access_denied', async () => {
    const group = await server.services.groups.create('demo', { name: 'Pilot' });
    const open = await server.services.clientAdmin.create('demo', { name: 'Open app', redirectUris: [RP_REDIRECT] });
    const restricted = await server.services.clientAdmin.create('demo', { name: 'Pilot app', redirectUris: [RP_REDIRECT], allowedGroups: [group.id] });
    const asClient = async (created: typeof open): Promise<Client> => ({ ...(await server.services.clients.find('demo', created.client.clientId))!, clientSecret: created.clientSecret! });
    const { ua } = await signUpThroughRp(server, await asClient(open), 'outsider@example.com', 'Outsider');

    context = await browser.newContext();
    const cookies = await ua.jar.getCookies(`${server.origin}/demo/oidc/auth`);
    await context.addCookies(cookies.map((c) => ({ name: c.key, value: c.value, domain: 'localhost', path: c.path ?? '/', httpOnly: c.httpOnly, secure: false, sameSite: 'Lax' as const })));
    const page = await context.newPage();
    let posted = '';
    await page.route(`${RP_REDIRECT}**`, async (route) => {
      posted = route.request().postData() ?? '';
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>RP</title><p>back at the application</p>' });
    });
    const answer = await page.goto(authorizeUrl(server, await asClient(restricted), { state: 'pilot' }));
    assert.equal(answer?.status(), 403);
    assert.match(String(await page.locator('h1').textContent()), /You cannot use Pilot app with this account/);
    assert.deepEqual(await accessibilityViolations(page), [], 'no-access page');
    await page.getByRole('button', { name: 'Back to Pilot app' }).click();
    await page.getByText('back at the application').waitFor();
    const fields = new URLSearchParams(posted);
    assert.equal(fields.get('error'), 'access_denied');
    assert.equal(fields.get('state'), 'pilot');
  });
});
