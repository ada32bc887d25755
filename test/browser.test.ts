import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { chromiumSkipReason, launchChromium, signUpInBrowser, submitSignUpWithCode, withVirtualAuthenticator } from './support/browser.js';

/**
 * The pages in a real browser: Chromium with the DevTools virtual authenticator, from the demo
 * relying party through Sesame's sign-in page and back to the demo RP's claims page.
 */
const skip = chromiumSkipReason();

/** One server and one Chromium for the whole file (each test uses its own browser contexts and accounts). */
let fixture: Promise<{ server: TestServer; browser: Browser }> | undefined;
const sharedFixture = () => (fixture ??= (async () => ({ server: await startTestServer('sqlite'), browser: await launchChromium() }))());
after(async () => {
  if (!fixture) return;
  const { server, browser } = await fixture;
  await browser.close();
  await server.close();
});

describe('sign-in pages in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let credential: Record<string, unknown>;
  before(async () => ({ server, browser } = await sharedFixture()));

  /**
   * Runs a test with a copy of the passkey in a fresh virtual authenticator. The server refuses a
   * counter that goes back (the mark of a cloned key), so the copy's counter is carried forward
   * whatever the test's outcome: one failing test must not make the next ones fail.
   */
  const withPasskeyCopy = async (resident: boolean, run: (page: import('playwright-core').Page) => Promise<void>) => {
    assert.ok(credential, 'needs the passkey from the sign-up test');
    const { page, cdp, authenticatorId, context } = await withVirtualAuthenticator(browser);
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, isResidentCredential: resident } as never });
    try {
      await run(page);
    } finally {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      credential = { ...credential, signCount: credentials[0].signCount };
      await context.close();
    }
  };

  const claim = async (page: import('playwright-core').Page, name: string) => page.locator(`td[data-claim="${name}"]`).textContent();

  test('sign up with a passkey from the demo RP and see the claims', async () => {
    const { page, cdp, authenticatorId, context } = await withVirtualAuthenticator(browser);
    await page.goto(`${server.origin}/demo-rp/`);
    await page.getByRole('link', { name: 'Sign in with Sesame' }).click();
    await page.waitForURL(/\/demo\/interaction\//);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('E-mail address', { exact: true }).nth(1).fill('dorothy@example.com');
    await page.getByLabel('Your name').fill('Dorothy Vaughan');
    await submitSignUpWithCode(page, server.origin, 'dorothy@example.com');
    await page.getByRole('link', { name: /^Continue to / }).click();
    await page.waitForURL(/\/demo-rp\/callback/);
    assert.equal(await claim(page, 'name'), 'Dorothy Vaughan');
    assert.equal(await claim(page, 'email'), 'dorothy@example.com');
    assert.equal(await claim(page, 'acr'), 'phr');
    assert.match(String(await claim(page, 'amr')), /"user"/);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable passkey was created');
    credential = credentials[0] as unknown as Record<string, unknown>;
    await context.close();
  });

  test('sign in with the e-mail address first', async () => {
    // Non-discoverable copy: autofill cannot offer it, so only the username path can succeed.
    await withPasskeyCopy(false, async (page) => {
      const optionsRequests = countSignInOptionsRequests(page);
      await page.goto(`${server.origin}/demo-rp/login`);
      await page.waitForURL(/\/demo\/interaction\//);
      await page.getByLabel('E-mail address', { exact: true }).first().fill('dorothy@example.com');
      await page.getByRole('button', { name: 'Continue with passkey' }).click();
      await page.waitForURL(/\/demo-rp\/callback/);
      assert.equal(await claim(page, 'name'), 'Dorothy Vaughan');
      // Autofill used the page's own options; the button's ceremony (with the address) asked for its own.
      assert.deepEqual(optionsRequests, [{ email: 'dorothy@example.com' }]);
    });
  });

  test('sign in with autofill (conditional UI), with the options the page came with: no options request', async () => {
    await withPasskeyCopy(true, async (page) => {
      const optionsRequests = countSignInOptionsRequests(page);
      const verified = page.waitForResponse((r) => /\/demo\/interaction\/[^/]+\/signin\/verify$/.test(r.url()));
      // The autofill request may finish before the page could be inspected, so the e-mail field's
      // markup is checked in the HTML the browser received, not on the live page.
      const signinPage = page.waitForResponse((r) => /\/demo\/interaction\//.test(r.url()) && r.request().resourceType() === 'document');
      await page.goto(`${server.origin}/demo-rp/login`);
      assert.match(await (await signinPage).text(), /id="signin-email"[^>]*autocomplete="username webauthn"|autocomplete="username webauthn"[^>]*id="signin-email"/);
      // Nothing is clicked: the autofill request resolves with the one discoverable passkey.
      await page.waitForURL(/\/demo-rp\/callback/, { timeout: 15_000 });
      assert.equal(await claim(page, 'email'), 'dorothy@example.com');
      assert.equal((await verified).status(), 200, 'signed in through the page');
      assert.deepEqual(optionsRequests, [], 'no POST …/signin/options');
    });
  });

  test('the account page signs in with a passkey and lists it', async () => {
    await withPasskeyCopy(true, async (page) => {
      await page.goto(`${server.origin}/demo/account`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('heading', { name: 'Your passkeys', exact: true }).waitFor();
      assert.match(String(await page.locator('main').textContent()), /Dorothy Vaughan/);
      assert.equal(await page.locator('#passkeys li.passkey').count(), 1);
      assert.equal(await page.getByRole('button', { name: 'Remove' }).isDisabled(), true, 'the only passkey cannot be removed');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    });
  });

  test('autofill with a passkey this site no longer knows says so at the field, never stays on "Checking your passkey…"', async () => {
    const { page, cdp, authenticatorId, context } = await withVirtualAuthenticator(browser);
    // A passkey for this site that the server does not know (removed elsewhere, or from an old database).
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: {
        credentialId: randomBytes(16).toString('base64'), isResidentCredential: true, rpId: 'localhost',
        privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        userHandle: Buffer.from('gone-user').toString('base64'), signCount: 0,
      },
    });
    await page.goto(`${server.origin}/demo-rp/login`);
    await page.locator('#signin-email-error').filter({ hasText: /not registered here/ }).waitFor({ timeout: 15_000 });
    assert.doesNotMatch(String(await page.locator('#status').textContent()), /Checking your passkey/);
    await context.close();
  });

  test('an unknown e-mail address gets a friendly message on the page', async () => {
    const { page, context } = await withVirtualAuthenticator(browser);
    await page.goto(`${server.origin}/demo-rp/login`);
    await page.waitForURL(/\/demo\/interaction\//);
    await page.getByLabel('E-mail address', { exact: true }).first().fill('nobody@example.com');
    await page.getByRole('button', { name: 'Continue with passkey' }).click();
    await assertText(page.locator('#signin-email-error'), /don't know this e-mail address/);
    await context.close();
  });
});

type Page = import('playwright-core').Page;

/** The bodies of the sign-in page's POSTs to …/signin/options, as they are sent (a live list). */
function countSignInOptionsRequests(page: Page): unknown[] {
  const bodies: unknown[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/interaction\/[^/]+\/signin\/options$/.test(request.url())) bodies.push(request.postDataJSON());
  });
  return bodies;
}

/** On the desktop's sign-in page: "Use my phone", then read the link (the QR code's content) and the number. */
async function desktopShowsCode(page: Page, server: TestServer): Promise<{ link: string; number: string }> {
  await page.goto(`${server.origin}/demo-rp/login`);
  await page.waitForURL(/\/demo\/interaction\//);
  await page.getByText('Other ways to sign in').click();
  await page.getByRole('button', { name: 'Use my phone' }).click();
  await page.locator('#crossdevice-link').filter({ hasText: /\/x\// }).waitFor();
  return {
    link: String(await page.locator('#crossdevice-link').getAttribute('href')),
    number: String(await page.locator('#crossdevice-number').textContent()),
  };
}

/** On the phone: open the link, pick the number, approve with the phone's passkey. */
async function phoneApproves(page: Page, link: string, number: string): Promise<void> {
  await page.goto(link);
  await page.getByRole('button', { name: number, exact: true }).click();
  await page.locator('#status').filter({ hasText: /Approved/ }).waitFor();
}

async function assertText(locator: import('playwright-core').Locator, pattern: RegExp) {
  await locator.filter({ hasText: pattern }).waitFor({ timeout: 5000 });
}

describe('cross-device sign-in in Chromium: a desktop and a phone', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => ({ server, browser } = await sharedFixture()));

  test('the desktop shows a QR code and a number; the phone opens the link, picks it, approves; the desktop lands on the claims page', async () => {
    const phone = await withVirtualAuthenticator(browser);
    // The person already has a passkey on their phone.
    await signUpInBrowser(phone.page, server.origin, 'mae@example.com', 'Mae Jemison');

    const desktop = await withVirtualAuthenticator(browser);
    const { link, number } = await desktopShowsCode(desktop.page, server);
    assert.match(String(await desktop.page.locator('#crossdevice-qr-image').getAttribute('src')), /^data:image\/svg\+xml;base64,/);
    assert.equal(await desktop.page.locator('#crossdevice-qr-image').isVisible(), true);
    assert.match(link, /\/demo\/x\/[A-Za-z0-9_-]{22}$/);
    assert.match(number, /^\d\d$/);

    const page = await new UserAgent(server.origin).get(link);
    assert.match(page.text, /Which number is shown on your computer\?/);
    assert.match(page.text, /Demo relying party/);
    await phoneApproves(phone.page, link, number);

    await desktop.page.waitForURL(/\/demo-rp\/callback/, { timeout: 15_000 });
    assert.equal(await desktop.page.locator('td[data-claim="name"]').textContent(), 'Mae Jemison');
    assert.match(String(await desktop.page.locator('td[data-claim="amr"]').textContent()), /"mca"/);
    await phone.context.close();
    await desktop.context.close();
  });

  test('a denial shows on the desktop, which offers a new code', async () => {
    const desktop = await withVirtualAuthenticator(browser);
    const phone = await withVirtualAuthenticator(browser);
    const { link } = await desktopShowsCode(desktop.page, server);
    await phone.page.goto(link);
    await phone.page.getByRole('button', { name: /Deny/ }).click();
    await phone.page.locator('#status').filter({ hasText: /Denied/ }).waitFor();
    await desktop.page.locator('#crossdevice-status').filter({ hasText: /denied on the phone/ }).waitFor();
    await desktop.page.getByRole('button', { name: 'New code' }).click();
    await desktop.page.locator('#crossdevice-status').filter({ hasText: /Waiting for your phone/ }).waitFor();
    await desktop.page.locator('#crossdevice-link').filter({ hasText: /\/x\// }).waitFor();
    assert.notEqual(String(await desktop.page.locator('#crossdevice-link').getAttribute('href')), link);
    await phone.context.close();
    await desktop.context.close();
  });
});

describe('Passport enrolment in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => ({ server, browser } = await sharedFixture()));

  test('the account page shows a set-up code; the phone enrols in the Passport app with it and then approves a QR sign-in', async () => {
    const desktop = await withVirtualAuthenticator(browser);
    await signUpInBrowser(desktop.page, server.origin, 'valerie@example.com', 'Valerie Thomas');

    await desktop.page.goto(`${server.origin}/demo/account`);
    await desktop.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await desktop.page.getByRole('button', { name: 'Set up a phone' }).click();
    await desktop.page.locator('#enrolment-link').filter({ hasText: /#enrol=/ }).waitFor();
    const link = String(await desktop.page.locator('#enrolment-link').textContent());

    const phone = await withVirtualAuthenticator(browser);
    await phone.page.goto(link);
    await phone.page.getByLabel('Name for this phone').fill('Valerie\'s phone');
    await phone.page.getByRole('button', { name: 'Set up with the link from my computer' }).click();
    await phone.page.locator('#status').filter({ hasText: /This phone is set up/ }).waitFor({ timeout: 15_000 });
    assert.equal(await phone.page.locator('#enrolled').isVisible(), true);
    assert.equal(await phone.page.locator('#enrolled-name').textContent(), 'Valerie\'s phone');

    await desktop.page.reload();
    assert.match(String(await desktop.page.locator('#devices').textContent()), /Valerie's phone/);

    // The phone's new credential now approves a QR sign-in on another computer (no passkey there).
    await desktop.context.close();
    const other = await withVirtualAuthenticator(browser);
    const code = await desktopShowsCode(other.page, server);
    await phoneApproves(phone.page, code.link, code.number);
    await other.page.waitForURL(/\/demo-rp\/callback/, { timeout: 15_000 });
    assert.match(String(await other.page.locator('td[data-claim="amr"]').textContent()), /\["mca","hwk","user","mfa"\]/);
    await other.context.close();
    await phone.context.close();
  });
});
