import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, signIn, signUpThroughRp, verifyIdToken } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** The account page: several passkeys per user, added and removed by the user after a passkey sign-in. */
for (const db of await databases()) {
  describe(`account page (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    test('sign in, add a second passkey, use it, remove the first, keep the last', async () => {
      const laptop = new SoftwareAuthenticator();
      const { claims } = await signUpThroughRp(server, client, 'hedy@example.com', 'Hedy Lamarr', laptop);
      const account = `${server.origin}/demo/account`;
      const ua = new UserAgent(server.origin);

      const anonymous = await ua.get(account);
      assert.equal(anonymous.status, 200);
      assert.match(anonymous.text, /Sign in with a passkey/);
      assert.equal((await ua.postJson(`${account}/passkeys/options`, {})).status, 401, 'adding needs a signed-in user');

      const start = (await ua.postJson(`${account}/signin/options`, {})).json();
      const signedIn = await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: laptop.getAssertion(start.options, server.origin) });
      assert.equal(signedIn.status, 200, signedIn.text);
      const page = await ua.get(account);
      assert.match(page.text, /Hedy Lamarr/);
      assert.equal((page.text.match(/class="remove-passkey"/g) ?? []).length, 1);

      const phone = new SoftwareAuthenticator({ synced: true });
      const add = (await ua.postJson(`${account}/passkeys/options`, {})).json();
      assert.deepEqual(add.options.excludeCredentials.map((c: { id: string }) => c.id), [...laptop.credentials.keys()], 'existing passkeys are excluded');
      const added = await ua.postJson(`${account}/passkeys/verify`, { challengeId: add.challengeId, response: phone.createCredential(add.options, server.origin) });
      assert.equal(added.status, 200, added.text);
      assert.equal(((await ua.get(account)).text.match(/class="remove-passkey"/g) ?? []).length, 2);

      // The new passkey signs in to the same account, with amr swk.
      const rp = new UserAgent(server.origin);
      const { base } = await openSignInPage(rp, authorizeUrl(server, client));
      const result = await finishAtRp(rp, await signIn(rp, phone, base));
      const viaPhone = await verifyIdToken(server, client, (await exchangeCode(server, client, result.params.code)).body.id_token);
      assert.equal(viaPhone.sub, claims.sub);
      assert.deepEqual(viaPhone.amr, ['swk', 'user']);

      const [laptopId] = laptop.credentials.keys();
      const [phoneId] = phone.credentials.keys();
      assert.equal((await ua.postJson(`${account}/passkeys/remove`, { credentialId: laptopId })).status, 200);
      const last = await ua.postJson(`${account}/passkeys/remove`, { credentialId: phoneId });
      assert.equal(last.status, 409);
      assert.equal(last.json().error, 'last_credential');
      assert.equal((await ua.postJson(`${account}/passkeys/remove`, { credentialId: 'not-mine' })).status, 404);

      assert.equal((await ua.postJson(`${account}/signout`, {})).status, 200);
      assert.equal((await ua.postJson(`${account}/passkeys/options`, {})).status, 401);
    });

    test('a forged account cookie is ignored', async () => {
      const ua = new UserAgent(server.origin);
      await ua.jar.setCookie('sesame_account=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.; Path=/demo/account', server.origin);
      assert.equal((await ua.postJson(`${server.origin}/demo/account/passkeys/options`, {})).status, 401);
    });
  });
}
