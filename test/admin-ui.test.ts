import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, finishAtRp, openSignInPage, signUp } from './support/flow.js';
import { chromiumSkipReason, launchChromium, withVirtualAuthenticator } from './support/browser.js';
import { accessibilityViolations } from './support/axe.js';

/**
 * The console in Chromium with the DevTools virtual authenticator: an operator's enrolment link,
 * signing in and out with the keyboard alone, every console page (and its error and "shown once"
 * states) free of axe-core violations, with one h1, a skip link and the current page marked.
 */
const skip = chromiumSkipReason();

async function expectAccessible(page: Page, what: string): Promise<void> {
  assert.deepEqual(await accessibilityViolations(page), [], what);
  assert.equal(await page.locator('h1').count(), 1, `${what}: one h1`);
}

describe('admin console in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    server = await startTestServer('sqlite', { env: { ONBOARDING: 'open' } });
    browser = await launchChromium();
    await server.services.tenants.createTenant('acme', 'Acme & Co');
    const client = await createClient(server, { tenantId: 'acme' });
    const person = new UserAgent(server.origin);
    const { base } = await openSignInPage(person, authorizeUrl(server, client, {}, 'acme'));
    await finishAtRp(person, await signUp(person, new SoftwareAuthenticator(), base, 'ada@acme.example', 'Ada Lovelace'));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('an operator enrols, signs in and out by keyboard, and every console page is usable and axe-clean', async () => {
    const { link } = await server.services.adminAccounts.createInvitation({ kind: 'operator', email: 'root@example.com', invitedBy: 'cli' });
    const { context, page } = await withVirtualAuthenticator(browser);
    try {
      await page.goto(link);
      const create = page.getByRole('button', { name: 'Create a passkey' });
      await create.waitFor();
      assert.equal(new URL(page.url()).hash, '', 'the token is taken off the address bar');
      assert.match(await page.locator('#enrol-tenant').textContent() ?? '', /Every tenant/);
      assert.ok(await create.evaluate((button) => button === document.activeElement), 'the button has the focus');
      await expectAccessible(page, 'enrolment page');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${server.origin}/admin/tenants`);
      await expectAccessible(page, 'tenants');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/admin\?done=signed-out$/);
      await expectAccessible(page, 'sign-in page');
      await page.goto(`${server.origin}/admin/tenants/acme/settings`);
      await page.waitForURL(/\/admin\?next=/);
      // Keyboard only: the skip link first, then the sign-in button.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to main content');
      let guard = 0;
      while (await page.evaluate(() => document.activeElement?.id) !== 'admin-signin' && guard++ < 10) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${server.origin}/admin/tenants/acme/settings`);

      await page.goto(`${server.origin}/admin/tenants/acme`);
      await expectAccessible(page, 'overview');
      assert.equal(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current'), 'page');
      await page.getByLabel('B2C tenant name').fill('contoso');
      await page.getByRole('button', { name: 'Create the B2C client' }).click();
      await page.getByRole('heading', { name: /is created/ }).waitFor();
      assert.match(await page.locator('#client-secret').textContent() ?? '', /^[A-Za-z0-9_-]{43}$/);
      await expectAccessible(page, 'client created (secret shown once)');
      await page.getByRole('link', { name: 'Done' }).click();
      await page.getByRole('heading', { name: 'Acme & Co' }).waitFor();
      await expectAccessible(page, 'an application');

      for (const [path, name] of [['clients', 'Applications'], ['users', 'Users'], ['groups', 'Groups and claims'], ['invitations', 'Invitations'], ['settings', 'Settings'], ['keys', 'Signing keys'], ['audit', 'Audit log'], ['admins', 'Administrators'], ['tokens', 'API tokens']]) {
        await page.goto(`${server.origin}/admin/tenants/acme/${path}`);
        await expectAccessible(page, path);
        assert.equal(await page.getByRole('navigation', { name: 'Acme & Co' }).getByRole('link', { name }).getAttribute('aria-current'), 'page', path);
      }
      await page.goto(`${server.origin}/admin/tenants/acme/users`);
      await page.getByRole('link', { name: 'ada@acme.example' }).click();
      await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
      await expectAccessible(page, 'a user');

      await page.goto(`${server.origin}/admin/tenants/acme/groups`);
      await page.getByLabel('Name in the token').fill('department');
      await page.getByRole('button', { name: 'Save the claim' }).click();
      await page.getByRole('status').filter({ hasText: 'The claim is saved.' }).waitFor();
      await page.getByLabel('Group name').fill('Engineering');
      await page.getByRole('button', { name: 'Create the group' }).click();
      await page.getByRole('heading', { name: 'Engineering' }).waitFor();
      await page.getByLabel('Their e-mail address').fill('ada@acme.example');
      await page.getByRole('button', { name: 'Add to the group' }).click();
      await page.getByRole('status').filter({ hasText: 'The person is now a member.' }).waitFor();
      await page.getByLabel('department').fill('Analytical engines');
      await page.getByRole('button', { name: 'Save the claim values' }).click();
      await page.getByRole('status').filter({ hasText: 'The claim values are saved' }).waitFor();
      await expectAccessible(page, 'a group with a member and a claim value');
      await page.goto(`${server.origin}/admin/tenants/acme/groups`);
      await page.locator('#claims-table').waitFor();
      await expectAccessible(page, 'groups and claims, with one of each');
      const [app] = await server.services.clientAdmin.list('acme');
      await page.goto(`${server.origin}/admin/tenants/acme/clients/${app!.clientId}`);
      await page.getByLabel('Engineering').check();
      await page.getByLabel('Back-channel logout URI').fill('https://app.acme.example/logout');
      await page.getByRole('button', { name: 'Save access and logout' }).click();
      await page.getByRole('status').filter({ hasText: 'Who may sign in' }).waitFor();
      await expectAccessible(page, 'an application admitting one group');

      await page.goto(`${server.origin}/admin/tenants/acme/invitations`);
      await page.getByLabel('Send the link to this address by e-mail').uncheck();
      await page.getByRole('button', { name: 'Create the invitation' }).click();
      await page.getByRole('heading', { name: 'Your invitation link' }).waitFor();
      assert.match(await page.locator('#invitation-link').textContent() ?? '', /\/acme\/invitation#token=/);
      await expectAccessible(page, 'invitation link shown once');
      await page.getByRole('link', { name: 'Done' }).click();
      await page.locator('#invitations-table').waitFor();
      await page.getByLabel('Their e-mail address').fill('grace@acme.example');
      await page.getByRole('button', { name: 'Create the invitation' }).click();
      await page.getByRole('status').filter({ hasText: 'The invitation is on its way.' }).waitFor();
      await expectAccessible(page, 'invitations, one mailed');

      await page.goto(`${server.origin}/admin/tenants/acme/admins`);
      await page.getByLabel('Their e-mail address').fill('not an address');
      await page.getByRole('button', { name: 'Send the invitation' }).click();
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').textContent() ?? '', /name@example\.com/);
      await expectAccessible(page, 'a refused form');
      await page.getByLabel('Their e-mail address').fill('bob@acme.example');
      await page.getByRole('button', { name: 'Send the invitation' }).click();
      await page.getByRole('status').filter({ hasText: 'The invitation is on its way.' }).waitFor();
      await expectAccessible(page, 'an open invitation');

      await page.goto(`${server.origin}/admin/tenants/acme/tokens`);
      await page.getByLabel('Name').fill('provisioning');
      await page.getByRole('button', { name: 'Make the token' }).click();
      await page.getByRole('heading', { name: '“provisioning” is made' }).waitFor();
      await expectAccessible(page, 'API token shown once');
      await page.getByRole('link', { name: 'Done' }).click();
      await page.locator('#tokens-table').waitFor();
      await expectAccessible(page, 'API tokens with one');

      await page.goto(`${server.origin}/admin/tenants/acme/audit?type=admin.client_created`);
      assert.match(await page.locator('#audit-table').textContent() ?? '', /root@example\.com/);
      await expectAccessible(page, 'filtered audit log');
    } finally {
      await context.close();
    }
  });

  test('the onboarding form suggests and checks the tenant id as it is typed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${server.origin}/onboard`);
      await expectAccessible(page, 'onboarding form');
      await page.getByLabel('Organisation name').fill('Acme');
      assert.equal(await page.getByLabel('Tenant id').inputValue(), 'acme');
      await page.locator('#tenant-id-check').filter({ hasText: 'already taken' }).waitFor();
      assert.equal(await page.getByLabel('Tenant id').getAttribute('aria-invalid'), 'true');
      await page.getByLabel('Organisation name').fill('Ümlaut Straße GmbH');
      assert.equal(await page.getByLabel('Tenant id').inputValue(), 'umlaut-strasse-gmbh');
      await page.locator('#tenant-id-check').filter({ hasText: 'is available' }).waitFor();
      await page.getByLabel('Tenant id').fill('Bad_Id');
      await page.locator('#tenant-id-check').filter({ hasText: 'lower-case letters' }).waitFor();
      await page.getByLabel('Tenant id').fill('umlaut');
      await page.getByLabel('Organisation name').fill('Something else');
      assert.equal(await page.getByLabel('Tenant id').inputValue(), 'umlaut', 'an id typed by hand is kept');
      await page.getByLabel('Your e-mail address').fill('hans@umlaut.example');
      await page.getByRole('button', { name: 'Send me the link' }).click();
      await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
      await expectAccessible(page, 'mail sent page');
    } finally {
      await context.close();
    }
  });
});
