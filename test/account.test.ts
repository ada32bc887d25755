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
    const account = () => `${server.origin}/demo/account`;

    /** A browser signed in on the account page with `authenticator`'s passkey. */
    const signInOnAccountPage = async (authenticator: SoftwareAuthenticator): Promise<UserAgent> => {
      const ua = new UserAgent(server.origin);
      const start = (await ua.postJson(`${account()}/signin/options`, {})).json();
      const signedIn = await ua.postJson(`${account()}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
      assert.equal(signedIn.status, 200, signedIn.text);
      return ua;
    };

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
      assert.deepEqual(viaPhone.amr, ['swk', 'user', 'mfa']);

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

    test('each passkey is named after its provider, the one in use says so, and the person can rename it', async () => {
      const googleAaguid = 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4'; // Google Password Manager in the catalogue
      const synced = new SoftwareAuthenticator({ synced: true, aaguid: googleAaguid });
      await signUpThroughRp(server, client, 'grace@example.com', 'Grace Hopper', synced);
      const ua = await signInOnAccountPage(synced);
      const [syncedId] = synced.credentials.keys();
      const key = new SoftwareAuthenticator();
      const add = (await ua.postJson(`${account()}/passkeys/options`, {})).json();
      assert.equal((await ua.postJson(`${account()}/passkeys/verify`, { challengeId: add.challengeId, response: key.createCredential(add.options, server.origin) })).status, 200);
      const [keyId] = key.credentials.keys();

      const page = (await ua.get(account())).text;
      const row = (id: string, html = page) => html.slice(html.indexOf(`data-credential-id="${id}"`)).split('</li>')[0];
      assert.match(row(syncedId), /Google Password Manager/);
      assert.match(row(syncedId), /Synced passkey/);
      assert.match(row(syncedId), /This device/, 'the passkey that opened this page is marked');
      assert.match(row(keyId), /<h3[^>]*>Passkey<\/h3>/, 'an unknown (all-zero) AAGUID gets the generic name');
      assert.match(row(keyId), /Device-bound passkey/);
      assert.doesNotMatch(row(keyId), /This device/);
      assert.match(row(syncedId), /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z"[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time>/);

      const config = JSON.parse(page.match(/<script[^>]*id="sesame-config"[^>]*>([^<]*)<\/script>/)![1]);
      assert.deepEqual(config.signals, {
        rpId: 'localhost',
        userId: synced.credentials.get(syncedId)!.userHandle,
        name: 'grace@example.com',
        displayName: 'Grace Hopper',
        credentialIds: [syncedId, keyId],
      }, 'the Signal API gets the user handle the passkey holds and every accepted credential');

      const rename = (body: unknown, agent = ua) => agent.postJson(`${account()}/passkeys/rename`, body);
      for (const bad of [{ credentialId: keyId }, { credentialId: keyId, name: '   ' }, { credentialId: keyId, name: 'x'.repeat(65) },
        { credentialId: keyId, name: 'two\nlines' }, { credentialId: keyId, name: 42 }, { name: 'No id' }]) {
        const refused = await rename(bad);
        assert.equal(refused.status, 400, JSON.stringify(bad));
        assert.equal(refused.json().error, 'invalid_request');
      }
      assert.match(row(keyId, (await ua.get(account())).text), /<h3[^>]*>Passkey<\/h3>/, 'refused names change nothing');

      const other = new SoftwareAuthenticator();
      await signUpThroughRp(server, client, 'katherine@example.com', 'Katherine Johnson', other);
      const [otherId] = other.credentials.keys();
      const notMine = await rename({ credentialId: otherId, name: 'Mine now' });
      assert.equal(notMine.status, 404);
      assert.equal(notMine.json().error, 'unknown_credential');
      assert.equal((await rename({ credentialId: otherId, name: 'Mine now' }, new UserAgent(server.origin))).status, 401);
      assert.doesNotMatch((await (await signInOnAccountPage(other)).get(account())).text, /Mine now/, "another person's passkey keeps its name");

      const longest = 'é'.repeat(64);
      const renamed = await rename({ credentialId: keyId, name: '  YubiKey <blue>  ' });
      assert.equal(renamed.status, 200, renamed.text);
      assert.deepEqual(renamed.json(), { name: 'YubiKey <blue>' });
      assert.equal((await rename({ credentialId: syncedId, name: longest })).status, 200);
      const again = (await (await signInOnAccountPage(synced)).get(account())).text;
      assert.match(row(keyId, again), /<h3[^>]*>YubiKey &lt;blue&gt;<\/h3>/, 'the new name is kept (and escaped)');
      assert.match(row(syncedId, again), new RegExp(`<h3[^>]*>${longest}</h3>`));
      assert.match(row(syncedId, again), /Google Password Manager · synced passkey/, 'a renamed passkey still names its provider');
    });

    test('a forged account cookie is ignored', async () => {
      const ua = new UserAgent(server.origin);
      await ua.jar.setCookie('sesame_account=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.; Path=/demo/account', server.origin);
      assert.equal((await ua.postJson(`${server.origin}/demo/account/passkeys/options`, {})).status, 401);
    });
  });
}
