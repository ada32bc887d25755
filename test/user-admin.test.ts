import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { authorizeUrl, createClient, openSignInPage, signUpThroughRp } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** sesame user disable | enable | delete, seen from the sign-in page: what the CLI calls (services.userAdmin). */
for (const db of await databases()) {
  describe(`disabled and deleted users (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    const tryPasskey = async (authenticator: { getAssertion(options: unknown, origin: string): unknown }, email?: string) => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const start = await ua.postJson(`${base}/signin/options`, email ? { email } : {});
      if (start.status !== 200) return start;
      const { challengeId, options } = start.json();
      return ua.postJson(`${base}/signin/verify`, { challengeId, response: authenticator.getAssertion(options, ua.origin) });
    };

    test('a disabled user cannot sign in by any path; enabled again, they can', async () => {
      const { authenticator } = await signUpThroughRp(server, client, 'dee@example.com', 'Dee');
      await server.services.userAdmin.disable('demo', 'dee@example.com');

      const byEmail = await tryPasskey(authenticator, 'dee@example.com');
      assert.equal(byEmail.status, 403, byEmail.text);
      assert.equal(byEmail.json().error, 'account_disabled');
      assert.match(byEmail.json().message, /This account is disabled/);
      const discoverable = await tryPasskey(authenticator);
      assert.equal(discoverable.status, 403, discoverable.text);
      assert.equal(discoverable.json().error, 'account_disabled');

      // Cross-device: the desktop cannot even start a request for the account.
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const crossDevice = await ua.postJson(`${base}/crossdevice`, { email: 'dee@example.com' });
      assert.equal(crossDevice.status, 403, crossDevice.text);
      // Account page: its passkey sign-in is refused the same way.
      const account = new UserAgent(server.origin);
      await account.get(`${server.origin}/demo/account`);
      const accountStart = await account.postJson(`${server.origin}/demo/account/signin/options`, {});
      assert.equal(accountStart.status, 200, accountStart.text);
      const { challengeId, options } = accountStart.json();
      const accountDone = await account.postJson(`${server.origin}/demo/account/signin/verify`, { challengeId, response: authenticator.getAssertion(options, account.origin) });
      assert.equal(accountDone.status, 403, accountDone.text);
      // Recovery: no administrator's link for a disabled account.
      await assert.rejects(server.services.recovery.createAdminLink('demo', 'dee@example.com'), /is disabled: enable the account first/);

      await server.services.userAdmin.enable('demo', 'dee@example.com');
      const again = await tryPasskey(authenticator, 'dee@example.com');
      assert.equal(again.status, 200, again.text);
    });

    test('delete removes the user and their passkeys: the passkey is unknown afterwards, the address free', async () => {
      const { authenticator } = await signUpThroughRp(server, client, 'del@example.com', 'Del');
      const preview = await server.services.userAdmin.previewDeletion('demo', 'del@example.com');
      assert.equal(preview.passkeys, 1);
      await server.services.userAdmin.delete('demo', 'del@example.com');
      assert.equal(await server.services.users.findByEmail('demo', 'del@example.com'), undefined);
      const discoverable = await tryPasskey(authenticator);
      assert.equal(discoverable.status, 400, discoverable.text);
      assert.equal(discoverable.json().error, 'unknown_credential');
      const rows = await server.services.database.db.selectFrom('credentials').select('id').where('user_id', '=', preview.user.id).execute();
      assert.equal(rows.length, 0);
      await signUpThroughRp(server, client, 'del@example.com', 'Del again');
    });
  });
}
