import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { encodeCBOR } from '@levischuck/tiny-cbor';
import { decodeAttestationObject, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { SoftwareAuthenticator, type SoftwareAlgorithm } from '../sdk/software-authenticator.js';
import { CLASSICAL_ALGORITHMS, mlDsaAlgorithms } from '../src/webauthn/attestation/algorithms.js';
import { verifyAssertion } from '../src/webauthn/verify-assertion.js';
import { runWebAuthnCase, type WebAuthnCase } from '../src/vectors/webauthn-cases.js';
import { setTenantSettings, TenantSettingError } from '../src/cli/tenant-settings.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail } from './support/flow.js';

/**
 * ML-DSA-44/65/87 (COSE -48/-49/-50). What the runtime can verify is found by trying it, so this
 * file tests the path of the runtime it runs on: acceptance where Node.js has ML-DSA (24.7 and
 * later; CI's Node 24 leg), a clear refusal and no offer where it has not (Node 20). Each path
 * first checks that the detection agrees with node:crypto itself.
 */
const ML_DSA: Record<SoftwareAlgorithm & `ML-DSA-${string}`, number> = { 'ML-DSA-44': -48, 'ML-DSA-65': -49, 'ML-DSA-87': -50 };
const detected = await mlDsaAlgorithms();
const runtimeHasMlDsa = detected.length > 0;
const nodeCryptoMakes = (name: string) => {
  try {
    (generateKeyPairSync as unknown as (type: string) => unknown)(name.toLowerCase());
    return true;
  } catch {
    return false;
  }
};
const RP_ID = 'sesame.example';
const ORIGIN = 'https://sesame.example';

/** A registration response carrying an ML-DSA-44 COSE key (fmt none: nothing is signed), as a post-quantum authenticator sends it. */
function mlDsa44Registration(options: { challenge: string; rp: { id?: string } }, origin: string) {
  const credentialId = randomBytes(16);
  const coseKey = Buffer.from(encodeCBOR(new Map<number, unknown>([[1, 7], [3, -48], [-1, randomBytes(1312)]]) as never));
  const counter = Buffer.alloc(4);
  const authData = Buffer.concat([
    createHash('sha256').update(options.rp.id ?? new URL(origin).hostname).digest(), Buffer.of(0x45), counter,
    Buffer.alloc(16), Buffer.from([0, credentialId.length]), credentialId, coseKey,
  ]);
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false }));
  const attestationObject = Buffer.from(encodeCBOR(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never));
  const id = credentialId.toString('base64url');
  return { id, rawId: id, type: 'public-key' as const, clientExtensionResults: {},
    response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['usb'] } };
}

describe('ML-DSA: what this runtime verifies is detected, not assumed', () => {
  test('the detection agrees with node:crypto', () => {
    for (const [name, alg] of Object.entries(ML_DSA)) assert.equal(detected.includes(alg), nodeCryptoMakes(name), name);
  });
});

describe('ML-DSA where the runtime has it', { skip: !runtimeHasMlDsa && 'this runtime has no ML-DSA (Node.js 20): the refusal tests below run instead' }, () => {
  for (const name of Object.keys(ML_DSA) as Array<keyof typeof ML_DSA>) {
    test(`${name}: a registration (packed self attestation signed with ${name}) and its assertions verify, as a vector case too; a tampered signature does not`, async () => {
      const authenticator = new SoftwareAuthenticator({ algorithm: name, attestation: 'packed' });
      const challenge = Buffer.from(`register ${name}`).toString('base64url');
      const registration = authenticator.createCredential({ challenge, rp: { id: RP_ID, name: 'S' }, user: { id: 'dQ', name: 'u', displayName: 'U' } }, ORIGIN);
      const asCase = (response: WebAuthnCase['response'], extra: Partial<WebAuthnCase> = {}): WebAuthnCase =>
        ({ case: `ml-dsa-${name}`, rpId: RP_ID, origin: ORIGIN, challenge, response, expect: 'valid', ...extra });
      const registered = await runWebAuthnCase(asCase(registration as never));
      assert.deepEqual(registered, { verdict: 'pass', detail: 'verified (self, attestation not verified: the authenticator attested its key with the key itself)' });

      const [credential] = authenticator.credentials.values();
      const signInChallenge = Buffer.from(`sign in ${name}`).toString('base64url');
      const assertion = authenticator.getAssertion({ challenge: signInChallenge, rpId: RP_ID }, ORIGIN);
      const publicKey = storedKeyOf(registration);
      const verified = await verifyAssertion(assertion as never, { challenge: signInChallenge, origin: ORIGIN, rpId: RP_ID, requireUserVerification: true, credential: { id: credential!.id, publicKey, counter: 0 } });
      assert.equal(verified.newCounter, 1);
      const tampered = { ...assertion, response: { ...assertion.response, signature: flipLastByte(assertion.response.signature) } };
      await assert.rejects(verifyAssertion(tampered as never, { challenge: signInChallenge, origin: ORIGIN, rpId: RP_ID, requireUserVerification: true, credential: { id: credential!.id, publicKey, counter: 0 } }),
        /signature/i);
    });
  }
});

describe('ML-DSA where the runtime lacks it', { skip: runtimeHasMlDsa && 'this runtime has ML-DSA: the acceptance tests above run instead' }, () => {
  test('a vector-format case with an ML-DSA key is refused with the clear reason, never a crash', async () => {
    const challenge = Buffer.from('pq').toString('base64url');
    const outcome = await runWebAuthnCase({ case: 'ml-dsa-44', rpId: RP_ID, origin: ORIGIN, challenge, response: mlDsa44Registration({ challenge, rp: { id: RP_ID } }, ORIGIN) as never, expect: 'valid' });
    assert.equal(outcome.verdict, 'pass');
    assert.match(outcome.detail, /^refused as specified for a runtime without ML-DSA .*This passkey uses ML-DSA-44, a post-quantum signature algorithm that this server cannot verify yet/);
  });

  test('a stored ML-DSA passkey (from a runtime that had it) is refused at sign-in in words', async () => {
    const publicKey = Buffer.from(encodeCBOR(new Map<number, unknown>([[1, 7], [3, -49], [-1, randomBytes(1952)]]) as never));
    await assert.rejects(verifyAssertion({ id: 'aWQ', rawId: 'aWQ', type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } },
      { challenge: 'x', origin: ORIGIN, rpId: RP_ID, requireUserVerification: true, credential: { id: 'aWQ', publicKey, counter: 0 } }),
    (error: Error & { code?: string }) => error.code === 'algorithm_unsupported' && /^This passkey uses ML-DSA-65, .*Sign in with another passkey\./.test(error.message));
  });
});

for (const db of await databases()) {
  describe(`ML-DSA over HTTP (${db})`, () => {
    let server: TestServer;
    let n = 0;
    before(async () => { server = await startTestServer(db); });
    after(() => server.close());

    async function signUpPage(flags: Record<string, string> = {}) {
      const id = `pq-${++n}`;
      await server.services.tenants.createTenant(id, `PQ ${n}`);
      if (Object.keys(flags).length) await setTenantSettings(server.services, id, flags);
      const client = await createClient(server, { tenantId: id });
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, id));
      const start = async (email: string) => {
        const started = await ua.postJson(`${base}/signup/options`, { email, displayName: 'P', verificationId: await proveEmail(ua, base, email, 'P') });
        assert.equal(started.status, 200, started.text);
        return started.json();
      };
      return { id, ua, base, start };
    }
    const offered = (options: { pubKeyCredParams: Array<{ alg: number }> }) => options.pubKeyCredParams.map((p) => p.alg);

    test('registration options offer ML-DSA after every classical algorithm exactly where the runtime verifies it', async () => {
      const page = await signUpPage();
      const { options } = await page.start('offer@example.com');
      assert.deepEqual(offered(options), runtimeHasMlDsa ? [...CLASSICAL_ALGORITHMS, -48, -49, -50] : [...CLASSICAL_ALGORITHMS]);
    });

    test('where the runtime has ML-DSA: an ML-DSA-65 passkey is made and signs in; tenant set --algorithms may name it',
      { skip: !runtimeHasMlDsa && 'this runtime has no ML-DSA (Node.js 20)' }, async () => {
        const page = await signUpPage({ algorithms: 'ES256,ML-DSA-65' });
        const { challengeId, options } = await page.start('pq@example.com');
        assert.deepEqual(offered(options), [-7, -49]);
        const authenticator = new SoftwareAuthenticator({ algorithm: 'ML-DSA-65' });
        const done = await page.ua.postJson(`${page.base}/signup/verify`, { challengeId, response: authenticator.createCredential(options, page.ua.origin) });
        assert.equal(done.status, 200, done.text);
        const client = await createClient(server, { tenantId: page.id });
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, page.id));
        const signIn = (await ua.postJson(`${base}/signin/options`, { email: 'pq@example.com' })).json();
        const signedIn = await ua.postJson(`${base}/signin/verify`, { challengeId: signIn.challengeId, response: authenticator.getAssertion(signIn.options, ua.origin) });
        assert.equal(signedIn.status, 200, signedIn.text);
      });

    test('where the runtime lacks ML-DSA: an ML-DSA passkey is refused at registration with a clear message, and tenant set --algorithms cannot name it',
      { skip: runtimeHasMlDsa && 'this runtime has ML-DSA' }, async () => {
        const page = await signUpPage();
        const { challengeId, options } = await page.start('pq@example.com');
        const done = await page.ua.postJson(`${page.base}/signup/verify`, { challengeId, response: mlDsa44Registration(options, page.ua.origin) });
        assert.equal(done.status, 400, done.text);
        assert.equal(done.json().error, 'algorithm_unsupported');
        assert.match(done.json().message, /^This passkey uses ML-DSA-44, a post-quantum signature algorithm that this server cannot verify yet .* Use another passkey or security key/);
        assert.equal(await server.services.passkeys.findUserByEmail(page.id, 'pq@example.com'), undefined, 'no account is made');
        await assert.rejects(setTenantSettings(server.services, page.id, { algorithms: 'ES256,ML-DSA-44' }),
          (error: Error) => error instanceof TenantSettingError && /cannot verify ML-DSA-44/.test(error.message));
      });
  });
}

/** The COSE public key inside a registration response's attested credential data (what the server stores). */
function storedKeyOf(registration: { response: { attestationObject: string } }): Uint8Array {
  const authData = decodeAttestationObject(Buffer.from(registration.response.attestationObject, 'base64url')).get('authData');
  return parseAuthenticatorData(authData).credentialPublicKey!;
}

function flipLastByte(base64url: string): string {
  const bytes = Buffer.from(base64url, 'base64url');
  bytes[bytes.length - 1]! ^= 1;
  return bytes.toString('base64url');
}
