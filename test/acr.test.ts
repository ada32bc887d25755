import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, signUp, signUpThroughRp, verifyIdToken } from './support/flow.js';
import { acrsFor, amrFor, chooseAcr } from '../src/webauthn/amr.js';
import { requestedAcr } from '../src/oidc/requested-acr.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { attestationChain } from './support/attestation-certificates.js';
import { blobPayload, testBlobSigner } from './support/mds-blob.js';

describe('acr and amr: rules', () => {
  test('amr per RFC 8176: hwk/swk by backup eligibility, user and mfa only with user verification', () => {
    assert.deepEqual(amrFor({ deviceType: 'singleDevice', userVerified: true }), ['hwk', 'user', 'mfa']);
    assert.deepEqual(amrFor({ deviceType: 'multiDevice', userVerified: true }), ['swk', 'user', 'mfa']);
    assert.deepEqual(amrFor({ deviceType: 'singleDevice', userVerified: false }), ['hwk']);
  });

  test('phrh only for an attested, device-bound key with hardware key protection', () => {
    assert.deepEqual(acrsFor({ deviceType: 'singleDevice', attested: true, keyProtection: ['hardware', 'secure_element'] }), ['phrh', 'phr']);
    assert.deepEqual(acrsFor({ deviceType: 'singleDevice', attested: true, keyProtection: ['tee'] }), ['phrh', 'phr']);
    assert.deepEqual(acrsFor({ deviceType: 'multiDevice', attested: true, keyProtection: ['hardware'] }), ['phr']);
    assert.deepEqual(acrsFor({ deviceType: 'singleDevice', attested: false, keyProtection: ['hardware'] }), ['phr']);
    assert.deepEqual(acrsFor({ deviceType: 'singleDevice', attested: true, keyProtection: ['software'] }), ['phr']);
    assert.deepEqual(acrsFor({ deviceType: 'singleDevice', attested: true, keyProtection: undefined }), ['phr']);
  });

  test('the acr claimed meets the request, in the requester\'s order', () => {
    assert.equal(chooseAcr(['phrh', 'phr'], []), 'phrh');
    assert.equal(chooseAcr(['phrh', 'phr'], ['phr']), 'phr');
    assert.equal(chooseAcr(['phr'], ['phrh']), undefined);
    assert.deepEqual(requestedAcr({ acr_values: 'urn:other phrh' }), { values: ['phrh'], essential: false });
    assert.deepEqual(requestedAcr({ acr_values: 'urn:other' }), { values: [], essential: false });
    assert.deepEqual(requestedAcr({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['phrh', 'urn:x'] } } }) }), { values: ['phrh', 'urn:x'], essential: true });
    assert.deepEqual(requestedAcr({ claims: { id_token: { acr: { essential: true, value: 'phr' } } } }), { values: ['phr'], essential: true });
    assert.deepEqual(requestedAcr({ claims: '{not json' }), { values: [], essential: false });
  });
});

const HARDWARE_AAGUID = '4a6f2c1e-0b7d-4e55-8a1c-6d2f0e9b7a11';

for (const db of await databases()) {
  describe(`acr and amr over OIDC (${db})`, () => {
    let server: TestServer;
    let client: Client;

    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    test('device-bound passkey: acr phr, amr hwk user mfa; synced: swk', async () => {
      assert.deepEqual((await signUpThroughRp(server, client, 'bound@example.com', 'B')).claims.amr, ['hwk', 'user', 'mfa']);
      const synced = await signUpThroughRp(server, client, 'synced@example.com', 'S', new SoftwareAuthenticator({ synced: true }), { acr_values: 'phr' });
      assert.equal(synced.claims.acr, 'phr');
      assert.deepEqual(synced.claims.amr, ['swk', 'user', 'mfa']);
    });

    test('without user verification (tenant prefers it): amr hwk only, no user, no mfa', async () => {
      await server.services.tenants.createTenant('uvpref', 'UV preferred');
      await server.services.tenants.changeAuthenticatorPolicy('uvpref', { userVerification: 'preferred' });
      const uvClient = await createClient(server, { tenantId: 'uvpref' });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, uvClient, {}, 'uvpref'));
      const result = await finishAtRp(ua, await signUp(ua, new SoftwareAuthenticator({ userVerification: false }), base, 'nouv@example.com', 'N'));
      const tokens = await exchangeCode(server, uvClient, result.params.code!, { tenant: 'uvpref' });
      const claims = await verifyIdToken(server, uvClient, tokens.body.id_token, 'uvpref');
      assert.deepEqual(claims.amr, ['hwk']);
      assert.equal(claims.acr, 'phr');
    });

    for (const [how, params] of [
      ['acr_values=phrh', { acr_values: 'phrh' }],
      ['an essential acr claim phrh', { claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['phrh'] } } }) }],
    ] as const) {
      test(`${how} that the passkey cannot meet: the page says so, and the RP gets unmet_authentication_requirements`, async () => {
        const authenticator = new SoftwareAuthenticator({ attestation: 'packed' });
        const email = `phrh-${how.length}@example.com`;
        await signUpThroughRp(server, client, email, 'H', authenticator);
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server, client, params));
        const start = (await ua.postJson(`${base}/signin/options`, { email })).json();
        const refused = await ua.postJson(`${base}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, ua.origin) });
        assert.equal(refused.status, 403, refused.text);
        assert.equal(refused.json().error, 'acr_unmet');
        assert.match(refused.json().message, /security key that keeps its key in hardware/);
        const abort = await ua.postJson(`${base}/abort`, { reason: 'acr_unmet' });
        assert.equal(abort.status, 200, abort.text);
        const result = await finishAtRp(ua, abort.json().redirectTo);
        assert.equal(result.params.error, 'unmet_authentication_requirements');
        assert.equal(result.params.state, 'state-1');
      });
    }

    test('a plain cancel is access_denied, even with an acr request', async () => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, { acr_values: 'phrh' }));
      const result = await finishAtRp(ua, (await ua.postJson(`${base}/abort`, {})).json().redirectTo);
      assert.equal(result.params.error, 'access_denied');
    });

    test('phrh for real: a device-bound key attested to its model\'s FIDO metadata root, the model keeping keys in hardware', async () => {
      const maker = attestationChain('Hardware Maker');
      const blob = testBlobSigner();
      await server.services.metadata.load(blob.sign(blobPayload(1, [{
        aaguid: HARDWARE_AAGUID, level: 'L2',
        statement: { description: 'Hardware Test Key', keyProtection: ['hardware', 'secure_element'], attestationRootCertificates: [maker.root.der.toString('base64')] },
      }])), { source: 'test', extraRootsPem: [blob.rootPem] });
      await server.services.tenants.changeAuthenticatorPolicy('demo', { attestation: 'direct' });
      try {
        const key = new SoftwareAuthenticator({ aaguid: HARDWARE_AAGUID, attestation: 'packed', attestationCertificate: { chain: [maker.leaf.der], privateKey: maker.leaf.privateKey } });
        const signedUp = await signUpThroughRp(server, client, 'hardware@example.com', 'H', key, { acr_values: 'phrh' });
        assert.equal(signedUp.claims.acr, 'phrh');
        assert.deepEqual(signedUp.claims.amr, ['hwk', 'user', 'mfa']);
        const unattested = await signUpThroughRp(server, client, 'claims@example.com', 'C', new SoftwareAuthenticator({ aaguid: HARDWARE_AAGUID }), { acr_values: 'phr' });
        assert.equal(unattested.claims.acr, 'phr', 'the same AAGUID without a verified attestation is only a claim');
      } finally {
        await server.services.tenants.changeAuthenticatorPolicy('demo', { attestation: 'none' });
      }
    });

    test('a session signed in with phr is not reused for acr_values=phrh: the sign-in page is shown again', async () => {
      const { ua } = await signUpThroughRp(server, client, 'session@example.com', 'S');
      const silent = await ua.follow(authorizeUrl(server, client, { acr_values: 'phr' }));
      assert.ok(!/\/interaction\//.test(silent.url), 'phr is met by the session');
      const again = await ua.follow(authorizeUrl(server, client, { acr_values: 'phrh' }));
      assert.match(again.url, /\/interaction\//);
    });
  });
}
