import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { databases, freePort, POSTGRES_URL } from './support/server.js';
import { pgSchema } from './support/child-server.js';
import { tcpProxy } from './support/tcp-proxy.js';
import { chromiumSkipReason, launchChromium, signUpInBrowser, withVirtualAuthenticator } from './support/browser.js';
import { registerMailbox } from './support/mailbox.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/server.js';

/**
 * A node is replaced while a desktop waits for the phone: two Sesame nodes on one PostgreSQL
 * database behind a load balancer (a TCP proxy). The first node shuts down gracefully, its event
 * stream tells the page to reconnect, the page's new stream reaches the second node, and the
 * phone's approval, made afterwards, still signs the desktop in.
 */
const skip = chromiumSkipReason() || (!(await databases()).includes('postgres') && 'PostgreSQL not reachable');

describe('the desktop page survives a node shutdown in Chromium', { skip }, () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

  test('the stream ends with "reconnect", the page reconnects to another node, and the approval arrives', { timeout: 40_000 }, async () => {
    const { schema, drop } = await pgSchema();
    cleanups.push(drop);
    const balancer = tcpProxy(await freePort(), { host: '127.0.0.1', port: 1 });
    cleanups.push(() => balancer.close());
    await balancer.listen();
    const origin = `http://localhost:${balancer.port}`;
    const secretKey = randomBytes(32).toString('base64url');
    // One data folder for both nodes, as a shared volume: either node's mail worker may send the
    // sign-up code, into the dev outbox there (with a folder each, the test's mailbox missed it now and then).
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-node-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const startNode = async () => {
      const port = await freePort();
      const config = loadConfig({
        PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: origin, DATA_DIR: dataDir, DATABASE_URL: POSTGRES_URL, SESAME_SECRET_KEY: secretKey,
        LOG_LEVEL: 'silent', RATE_LIMIT_PER_IP: '10000', RATE_LIMIT_PER_ACCOUNT: '10000', SHUTDOWN_TIMEOUT: '5',
      });
      const node: RunningServer = await startServer(config, { logger: createLogger('silent'), pgSchema: schema });
      // Both nodes share the database, so either one's outbox holds the mailed code.
      registerMailbox(origin, node.services);
      let closed = false;
      cleanups.push(() => closed || node.close());
      return { port, close: async () => { closed = true; await node.close(); } };
    };
    const first = await startNode();
    const second = await startNode();
    balancer.retarget({ host: '127.0.0.1', port: first.port });

    const browser: Browser = await launchChromium();
    cleanups.push(() => browser.close());
    const phone = await withVirtualAuthenticator(browser);
    await signUpInBrowser(phone.page, origin, 'katherine@example.com', 'Katherine Johnson');

    const desktop = await withVirtualAuthenticator(browser);
    await desktop.page.goto(`${origin}/demo-rp/login`);
    await desktop.page.waitForURL(/\/demo\/interaction\//);
    // A stream counts once its response arrived: only then has a node taken it. Counting requests
    // instead raced the shutdown: a request Chromium had just written on a kept-alive connection
    // that the closing node then dropped as idle is retried by Chromium on a new connection, which
    // the balancer sends to the second node, so the page never needed a "reconnect" (2 full runs in 5).
    const streams: string[] = [];
    desktop.page.on('response', (r) => { if (r.url().endsWith('/events') && r.status() === 200) streams.push(r.url()); });
    await desktop.page.getByText('Other ways to sign in').click();
    await desktop.page.getByRole('button', { name: 'Use my phone' }).click();
    await desktop.page.locator('#crossdevice-link').filter({ hasText: /\/x\// }).waitFor();
    assert.equal(await desktop.page.locator('#crossdevice-qr-image').isVisible(), true);
    const link = String(await desktop.page.locator('#crossdevice-link').getAttribute('href'));
    const number = String(await desktop.page.locator('#crossdevice-number').textContent());
    await waitUntil(() => streams.length >= 1, 'the first node answered the event stream');

    // The load balancer takes the first node out, and the node shuts down as on SIGTERM.
    balancer.retarget({ host: '127.0.0.1', port: second.port });
    await first.close();
    // The page opens the stream again (1–2 s later), now on the second node.
    await waitUntil(() => streams.length >= 2, 'the second node answered the reopened event stream');

    await phone.page.goto(link);
    await phone.page.getByRole('button', { name: number, exact: true }).click();
    await phone.page.locator('#status').filter({ hasText: /Approved/ }).waitFor();
    await desktop.page.waitForURL(/\/demo-rp\/callback/, { timeout: 10_000 });
    assert.equal(await desktop.page.locator('td[data-claim="name"]').textContent(), 'Katherine Johnson');
    assert.match(String(await desktop.page.locator('td[data-claim="amr"]').textContent()), /"mca"/);
  });
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
