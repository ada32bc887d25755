import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, signUpThroughRp, verifyIdToken } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { runU2fCase, type U2fCase } from '../src/vectors/u2f-cases.js';
import { verifyU2fRegistration, verifyU2fSignature } from '../src/u2f/verify.js';
import { sesameCli } from './support/cli.js';

/** The FIDO U2F vectors in ../shared/vectors (never copied here), through src/u2f. */
const VECTORS = new URL('../../shared/vectors/u2f.jsonl', import.meta.url);
const present = fs.existsSync(VECTORS);
const cases = present ? fs.readFileSync(VECTORS, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as U2fCase) : [];
const byId = (id: string) => cases.find((c) => c.case === id)!;

describe('vectors: u2f.jsonl', { skip: !present && 'shared vectors not present' }, () => {
  for (const c of cases) {
    test(`${c.case} is ${c.expect}`, () => {
      const outcome = runU2fCase(c);
      assert.equal(outcome.verdict, 'pass', outcome.detail);
    });
  }

  test('the attestation certificate is checked at the given clock', () => {
    const c = byId('u2f-reg-01'); // PilotGnubby certificate: 2012-08-14 to 2013-08-14
    const expected = { appId: c.appId, facets: c.facets, challenge: c.challenge };
    assert.throws(() => verifyU2fRegistration(c.registerResponse!, { ...expected, at: new Date('2024-01-01') }), /expired on Aug 14 18:29:32 2013/);
    assert.throws(() => verifyU2fRegistration(c.registerResponse!, { ...expected, at: new Date('2012-01-01') }), /not yet valid/);
    const verified = verifyU2fRegistration(c.registerResponse!, { ...expected, at: new Date('2013-01-01') });
    assert.equal(verified.keyHandle.toString('base64url'), c.expectedKeyHandle);
    const valid2062 = byId('u2f-reg-02'); // Gnubby HSM CA attestation, valid to 2062
    verifyU2fRegistration(valid2062.registerResponse!, { ...expected, at: new Date() });
  });

  test('the registration signature covers the AppID', () => {
    const c = byId('u2f-reg-01');
    assert.throws(() => verifyU2fRegistration(c.registerResponse!, { appId: 'https://example.com', facets: c.facets, challenge: c.challenge, at: new Date('2013-01-01') }),
      /attestation signature does not match/);
  });

  test('the counter must move forward and the signature covers the AppID', () => {
    const c = byId('u2f-sign-01'); // counter 1
    const expected = { appId: c.appId, facets: c.facets, challenge: c.challenge };
    const key = { keyHandle: c.registered!.keyHandle, publicKey: Buffer.from(c.registered!.publicKey, 'base64url') };
    assert.deepEqual(verifyU2fSignature(c.signResponse!, { ...key, counter: 0 }, expected), { counter: 1 });
    assert.throws(() => verifyU2fSignature(c.signResponse!, { ...key, counter: 1 }, expected), /counter did not increase \(1 after 1\)/);
    assert.throws(() => verifyU2fSignature(c.signResponse!, { ...key, counter: 0 }, { ...expected, appId: 'https://example.com' }), /signature does not match/);
    assert.throws(() => verifyU2fSignature(c.signResponse!, { ...key, counter: 0 }, { ...expected, challenge: 'other' }), /another challenge/);
  });
});

/** A U2F key as a legacy server stored it: a P-256 key pair, its raw point and a random key handle. */
function legacyU2fKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return { privateKey, publicKey: point.toString('base64url'), keyHandle: randomBytes(64).toString('base64url') };
}

const APP_ID = 'https://example.com/u2f/app-id.json';

for (const kind of await databases()) {
  describe(`U2F keys imported and signing in through the appid extension (${kind})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    test('import report, trusted facets, sign-in with rpIdHash = SHA-256(AppID), counter and extension enforced', async () => {
      const u2f = server.services.u2f;
      const key = legacyU2fKey();
      const record = { keyHandle: key.keyHandle, publicKey: key.publicKey, counter: 7, appId: APP_ID, email: 'Legacy@Example.com', displayName: 'Lee Gacy' };
      const before = await u2f.importRegistrations('demo', [record]);
      assert.deepEqual(before.refused.map((r) => r.reason), ['the tenant has no U2F AppID (set it with sesame tenant set <id> --u2f-appid <url>)']);

      await u2f.setAppId('demo', APP_ID);
      const offCurve = Buffer.alloc(65, 1);
      offCurve[0] = 0x04;
      const report = await u2f.importRegistrations('demo', [
        record,
        { ...record, keyHandle: randomBytes(32).toString('base64url'), publicKey: offCurve.toString('base64url') },
        { ...record, keyHandle: randomBytes(32).toString('base64url'), appId: 'https://other.example/app-id' },
        record,
        { ...record, email: 'not an address' },
      ]);
      assert.deepEqual(report.imported, [{ index: 0, email: 'legacy@example.com', keyHandle: key.keyHandle, userCreated: true }]);
      assert.deepEqual(report.refused.map((r) => [r.index, r.reason]), [
        [1, 'bad key: The U2F public key is not a point on the P-256 curve.'],
        [2, `unknown AppID https://other.example/app-id (the tenant's is ${APP_ID})`],
        [3, 'duplicate key handle (earlier in this file)'],
        [4, 'email: Enter your e-mail address in the form name@example.com.'],
      ]);
      const again = await u2f.importRegistrations('demo', [record]);
      assert.deepEqual(again.refused.map((r) => r.reason), ['duplicate key handle (already registered in this tenant)']);

      const facets = await fetch(`${server.origin}/demo/u2f/trusted-facets`);
      assert.equal(facets.headers.get('content-type'), 'application/fido.trusted-apps+json');
      assert.deepEqual(await facets.json(), { trustedFacets: [{ version: { major: 1, minor: 0 }, ids: [server.origin] }] });

      // A U2F key has no user verification and no user handle; it signs over the AppID, not our RP ID.
      const authenticator = new SoftwareAuthenticator({ userVerification: false });
      authenticator.credentials.set(key.keyHandle, { id: key.keyHandle, rpId: APP_ID, userHandle: '', privateKey: key.privateKey, signCount: 7, appId: APP_ID });
      const client = await createClient(server);
      const attempt = async (tamper: (response: ReturnType<SoftwareAuthenticator['getAssertion']>) => void = () => {}) => {
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server, client));
        const start = await ua.postJson(`${base}/signin/options`, { email: 'legacy@example.com' });
        assert.equal(start.status, 200, start.text);
        const { challengeId, options } = start.json();
        assert.deepEqual(options.extensions, { appid: APP_ID });
        const response = authenticator.getAssertion(options, ua.origin);
        assert.deepEqual(response.clientExtensionResults, { appid: true });
        tamper(response);
        const done = await ua.postJson(`${base}/signin/verify`, { challengeId, response });
        return { ua, done };
      };

      const { ua, done } = await attempt();
      assert.equal(done.status, 200, done.text);
      const result = await finishAtRp(ua, done.json().redirectTo);
      const tokens = await exchangeCode(server, client, result.params.code!);
      const claims = await verifyIdToken(server, client, tokens.body.id_token);
      assert.equal(claims.email, 'legacy@example.com');
      assert.equal(claims.email_verified, false);
      assert.deepEqual(claims.amr, ['hwk']);

      // Without the client's appid: true the RP ID hash must be our RP ID's: refused.
      const noExtension = await attempt((response) => { response.clientExtensionResults = {}; });
      assert.equal(noExtension.done.status, 400);
      assert.match(noExtension.done.json().message, /RP ID/);
      // A counter that did not move forward (a cloned key) is refused, under the default policy.
      authenticator.credentials.get(key.keyHandle)!.signCount = 7;
      const replayed = await attempt();
      assert.equal(replayed.done.status, 403);
      assert.equal(replayed.done.json().error, 'passkey_possibly_cloned');
    });

    test('a passkey user without U2F keys gets no appid extension', async () => {
      const client = await createClient(server);
      await signUpThroughRp(server, client, 'fresh@example.com', 'Fresh');
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const start = await ua.postJson(`${base}/signin/options`, { email: 'fresh@example.com' });
      assert.equal(start.status, 200, start.text);
      assert.equal(start.json().options.allowCredentials.length, 1);
      assert.equal(start.json().options.extensions, undefined);
    });
  });
}

describe('sesame tenant set --u2f-appid / --u2f-facets, sesame u2f import', () => {
  const { sesame, dataDir: dataFolder } = sesameCli('sesame-u2f-cli', { PUBLIC_URL: 'http://localhost:8080', MDS_URL: '' });
  test('settings, then an import with what was imported and what was refused and why', async () => {
    assert.equal((await sesame('tenant', 'create', 'acme', '--name', 'Acme')).code, 0);
    const http = await sesame('tenant', 'set', 'acme', '--u2f-appid', 'http://acme.example/app-id');
    assert.equal(http.code, 1);
    assert.match(http.err, /The AppID must be an https URL without a #fragment, not "http:\/\/acme\.example\/app-id"\./);
    const set = await sesame('tenant', 'set', 'acme', '--u2f-appid', 'https://acme.example/app-id', '--u2f-facets', 'https://acme.example,android:apk-key-hash:2jmj7l5rSw0yVb_vlWAYkK_YBwk');
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /^Tenant "acme" has U2F AppID https:\/\/acme\.example\/app-id; trusted facets http:\/\/localhost:8080 \(served at http:\/\/localhost:8080\/acme\/u2f\/trusted-facets\)\.$/m);
    assert.match(set.out, /^Tenant "acme" trusts these facets for U2F AppID https:\/\/acme\.example\/app-id: https:\/\/acme\.example, android:apk-key-hash:2jmj7l5rSw0yVb_vlWAYkK_YBwk\.$/m);
    const badFacet = await sesame('tenant', 'set', 'acme', '--u2f-facets', 'https://acme.example/path');
    assert.match(badFacet.err, /"https:\/\/acme\.example\/path" is not a facet id/);

    const key = legacyU2fKey();
    const file = path.join(dataFolder(), 'u2f.jsonl');
    fs.writeFileSync(file, [
      { keyHandle: key.keyHandle, publicKey: key.publicKey, counter: 3, appId: 'https://acme.example/app-id', email: 'ann@acme.example', displayName: 'Ann' },
      { keyHandle: 'AAAA', publicKey: 'BAAA', counter: 0, appId: 'https://acme.example/app-id', email: 'bob@acme.example' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    const imported = await sesame('u2f', 'import', file, '--tenant', 'acme');
    assert.equal(imported.code, 0, imported.err);
    assert.equal(imported.out, [
      '1 of 2 U2F registrations imported into tenant "acme", 1 refused.',
      `  imported  #1 ann@acme.example key ${key.keyHandle.slice(0, 16)}… (new account, e-mail address not verified)`,
      '  refused   #2 bob@acme.example key AAAA: bad key: The U2F public key is not a 65-byte uncompressed P-256 point.',
      '1 account(s) were created with email_verified false: the U2F records prove the key, not the address.',
    ].join('\n'));
    const users = await sesame('user', 'list', '--tenant', 'acme');
    assert.match(users.out, /ann@acme\.example/);
    const usage = await sesame('u2f', 'import', file);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /"u2f import" needs --tenant <id>\.\nUsage: sesame u2f import <file> --tenant <id>/);
  });
});
