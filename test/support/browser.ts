import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type CDPSession, type Page } from 'playwright-core';
import { verificationMail } from './mailbox.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Browser tests need Debian's Chromium. On a laptop without it they are skipped, loudly; on CI never. */
export function chromiumSkipReason(): string | false {
  if (fs.existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM}; CI must run the browser tests (apt-get install -y chromium).`);
  console.warn(`\n!!! Chromium not found at ${CHROMIUM}: browser tests are SKIPPED. Install it with: apt-get install -y chromium\n`);
  return `Chromium not installed at ${CHROMIUM}`;
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

export interface VirtualAuthenticator {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/** A fresh context (viewport, time zone …) and page with a CTAP2 platform authenticator that verifies the user. */
export async function withVirtualAuthenticator(browser: Browser, options: BrowserContextOptions = {}): Promise<VirtualAuthenticator> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal',
      hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

/**
 * Submits the sign-up form ("Continue"), then types the code from the verification mail (read from the
 * server's outbox, as the person reads their inbox) and confirms, which starts the passkey ceremony.
 */
export async function submitSignUpWithCode(page: Page, origin: string, email: string): Promise<void> {
  const since = Date.now() - 1;
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  const { code } = await verificationMail(origin, email, since);
  await page.getByLabel('Code from the mail').fill(code);
  await page.getByRole('button', { name: 'Confirm and create a passkey' }).click();
}

/** Creates an account with a passkey through the demo RP and the sign-in page, proving the address with the mailed code. */
export async function signUpInBrowser(page: Page, origin: string, email: string, name: string): Promise<void> {
  await page.goto(`${origin}/demo-rp/login`);
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('E-mail address', { exact: true }).nth(1).fill(email);
  await page.getByLabel('Your name').fill(name);
  await submitSignUpWithCode(page, origin, email);
  await page.getByRole('link', { name: /^Continue to / }).click();
  await page.waitForURL(/\/demo-rp\/callback/);
}
