import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, finishAtRp, openSignInPage, RP_REDIRECT, signIn, signUp } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** Relying parties that use the less common, standard parts of OIDC (the proxy test covers POST and pop-ups). */
describe('relying parties that follow the specs', () => {
  let server: TestServer;
  let client: Client;
  const authenticator = new SoftwareAuthenticator();
  before(async () => {
    server = await startTestServer('sqlite');
    client = await createClient(server);
  });
  after(() => server.close());

  test('prompt=create opens the sign-in page on the sign-up form, and the sign-up completes the request', async () => {
    const ua = new UserAgent(server.origin);
    const { base, page } = await openSignInPage(ua, authorizeUrl(server, client, { prompt: 'create' }));
    assert.match(page.text, /<section id="signup-view"[^>]*aria-labelledby="signup-heading">/, 'the sign-up form is shown at once');
    const response = await finishAtRp(ua, await signUp(ua, authenticator, base, 'ada@example.com', 'Ada Lovelace'), RP_REDIRECT);
    assert.ok(response.params.code, JSON.stringify(response.params));
  });

  test('prompt=select_account shows the sign-in page even with a session, then completes', async () => {
    const ua = new UserAgent(server.origin);
    const first = await openSignInPage(ua, authorizeUrl(server, client));
    assert.match(first.page.text, /<section id="signup-view"[^>]*aria-labelledby="signup-heading" hidden>/, 'a plain request opens on sign-in');
    await finishAtRp(ua, await signIn(ua, authenticator, first.base), RP_REDIRECT);
    const silent = await finishAtRp(ua, authorizeUrl(server, client), RP_REDIRECT);
    assert.ok(silent.params.code, 'the session alone answers a plain request');
    const { base } = await openSignInPage(ua, authorizeUrl(server, client, { prompt: 'select_account' }));
    const response = await finishAtRp(ua, await signIn(ua, authenticator, base), RP_REDIRECT);
    assert.ok(response.params.code, JSON.stringify(response.params));
  });
});
