import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { spawnServer, stopServer, type ChildServer } from './support/child-server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, exchangeCode, finishAtRp, openSignInPage, RP_REDIRECT, signIn, signUp } from './support/flow.js';
import { devMails, registerMailbox } from './support/mailbox.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/storage/db.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import { SecretBox } from '../src/secrets/secret-box.js';

/**
 * What `npm start` runs is the one-file build, dist/server.mjs (scripts/build-server.mjs), not the
 * modules the other tests load: here it serves a whole sign-up and sign-in — its pages, static
 * files and mails found from the bundle's own location, the ID token, the passkey again.
 */
describe('the built server (dist/server.mjs)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

  test('serves a sign-up and a sign-in, with its pages, static files and mails', { timeout: 60_000 }, async () => {
    assert.ok(fs.existsSync('dist/server.mjs'), 'dist/server.mjs is missing: run npm run build');
    const env = { SESAME_SECRET_KEY: randomBytes(32).toString('base64url'), DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-built-')) };
    cleanups.push(() => fs.rmSync(env.DATA_DIR, { recursive: true, force: true }));
    const server: ChildServer = await spawnServer(env, { built: true });
    cleanups.push(() => stopServer(server));
    // This test's own view of the database: it registers the relying party, and reads the mails.
    const inspect = await openDatabase({ dataDir: env.DATA_DIR, secrets: new SecretBox(Buffer.from(env.SESAME_SECRET_KEY, 'base64url')) });
    cleanups.push(() => inspect.close());
    const services = createServices(loadConfig({ ...env, PUBLIC_URL: server.origin, LOG_LEVEL: 'silent' }), inspect, createLogger('silent'));
    registerMailbox(server.origin, services);
    const client = await services.tenants.createClient({ tenantId: 'demo', name: 'Built RP', redirectUris: [RP_REDIRECT] });

    const css = await fetch(`${server.origin}/static/sesame.css`);
    assert.equal(css.status, 200);
    const email = 'built@example.com';
    const authenticator = new SoftwareAuthenticator();
    const first = new UserAgent(server.origin);
    const { base, page } = await openSignInPage(first, authorizeUrl(server as never, client));
    assert.match(page.text, /<html/i, 'the sign-in page is rendered');
    const { params } = await finishAtRp(first, await signUp(first, authenticator, base, email, 'Built'));
    const tokens = await exchangeCode(server as never, client, params.code);
    assert.equal(tokens.status, 200);
    assert.ok(tokens.body.id_token);
    // The mail worker renders the mail from its template and writes it to the dev outbox.
    const deadline = Date.now() + 10_000;
    while ((await devMails(server.origin, email)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match((await devMails(server.origin, email))[0]?.subject ?? '', /Confirm your e-mail address/, 'the code came by mail, rendered from its template');

    const again = new UserAgent(server.origin);
    const signInPage = await openSignInPage(again, authorizeUrl(server as never, client));
    const { params: second } = await finishAtRp(again, await signIn(again, authenticator, signInPage.base, email));
    assert.ok(second.code);
  });
});
