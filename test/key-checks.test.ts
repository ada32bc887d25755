import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { decodeCBOR, encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';
import { SoftwareAuthenticator, type CreationOptionsJSON } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, proveEmail } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/** The parts of a new credential an authenticator reports in its attested credential data. */
interface AttestedCredential { credentialId: Buffer; coseKey: Map<number, CBORType> }

/**
 * A software authenticator whose new credentials are rewritten before they reach Sesame, as a
 * faulty or hostile authenticator would report them. With "none" attestation nothing signs the
 * authenticator data, so the rewritten registration still verifies.
 */
class FaultyAuthenticator extends SoftwareAuthenticator {
  constructor(private readonly fault: (credential: AttestedCredential) => AttestedCredential) {
    super();
  }

  override createCredential(options: CreationOptionsJSON, origin: string) {
    const credential = super.createCredential(options, origin);
    const attestation = decodeCBOR(new Uint8Array(Buffer.from(credential.response.attestationObject, 'base64url'))) as Map<string, CBORType>;
    const authData = Buffer.from(attestation.get('authData') as Uint8Array);
    const idLength = authData.readUInt16BE(53);
    const original = { credentialId: authData.subarray(55, 55 + idLength), coseKey: decodeCBOR(new Uint8Array(authData.subarray(55 + idLength))) as Map<number, CBORType> };
    const { credentialId, coseKey } = this.fault(original);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(credentialId.length);
    attestation.set('authData', new Uint8Array(Buffer.concat([authData.subarray(0, 53), length, credentialId, Buffer.from(encodeCBOR(coseKey))])));
    return { ...credential, response: { ...credential.response, attestationObject: Buffer.from(encodeCBOR(attestation)).toString('base64url') } };
  }
}

const bytes = (b64url: string) => new Uint8Array(Buffer.from(b64url, 'base64url'));
const cose = (entries: Array<[number, CBORType]>) => new Map<number, CBORType>(entries);

function rsaKey(bits: number, alg = -257) {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  return cose([[1, 3], [3, alg], [-1, bytes(jwk.n!)], [-2, bytes(jwk.e!)]]);
}

function ecKey(curve: 'P-256' | 'P-384', alg: number) {
  const jwk = generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'jwk' });
  return cose([[1, 2], [3, alg], [-1, curve === 'P-256' ? 1 : 2], [-2, bytes(jwk.x!)], [-3, bytes(jwk.y!)]]);
}

function ed25519Key() {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return cose([[1, 1], [3, -8], [-1, 6], [-2, bytes(jwk.x!)]]);
}

const withKey = (coseKey: Map<number, CBORType>) => (c: AttestedCredential) => ({ ...c, coseKey });

const badCredentials: Array<[string, (c: AttestedCredential) => AttestedCredential, RegExp]> = [
  ['an EC point off the curve', (c) => {
    const y = Buffer.from(c.coseKey.get(-3) as Uint8Array);
    y[31] ^= 1;
    return { ...c, coseKey: cose([...c.coseKey.entries()].map(([k, v]) => [k, k === -3 ? new Uint8Array(y) : v])) };
  }, /point is not on the P-256 curve/],
  ['a 1-byte RSA modulus', withKey(cose([[1, 3], [3, -257], [-1, new Uint8Array([0xc5])], [-2, new Uint8Array([1, 0, 1])]])), /RSA key is 8 bits/],
  ['a 1024-bit RSA key', withKey(rsaKey(1024)), /RSA key is 1024 bits/],
  ['an RSA key under an EC algorithm', withKey(rsaKey(2048, -7)), /not an RSA algorithm/],
  ['a P-256 key under the P-384 algorithm', withKey(ecKey('P-256', -35)), /does not match its curve P-256/],
  ['a P-384 key under the P-256 algorithm', withKey(ecKey('P-384', -7)), /does not match its curve P-384/],
  ['a 31-byte Ed25519 key', withKey(cose([[1, 1], [3, -8], [-1, 6], [-2, new Uint8Array(31).fill(7)]])), /Ed25519 key is not 32 bytes/],
  // y = 2^255 - 19 is not below the field prime: no point encodes to it.
  ['an Ed25519 key that is no point', withKey(cose([[1, 1], [3, -8], [-1, 6], [-2, new Uint8Array([0xed, ...new Array(30).fill(0xff), 0x7f])]])), /not a point on the curve/],
  ['an EC key with a missing y coordinate', (c) => ({ ...c, coseKey: cose([...c.coseKey.entries()].filter(([k]) => k !== -3)) }), /does not have 32-byte coordinates/],
  ['an empty credential id', (c) => ({ ...c, credentialId: Buffer.alloc(0) }), /credential id is 0 bytes long/],
  ['a 1024-byte credential id', (c) => ({ ...c, credentialId: Buffer.alloc(1024, 1) }), /credential id is 1024 bytes long/],
];

for (const db of await databases()) {
  describe(`sign-up checks the new passkey's public key (${db})`, () => {
    let server: TestServer;
    let client: Client;

    before(async () => {
      server = await startTestServer(db);
      client = await createClient(server);
    });
    after(() => server.close());

    const signUp = async (authenticator: SoftwareAuthenticator, email: string) => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const start = await ua.postJson(`${base}/signup/options`, { email, displayName: 'Key Test', verificationId: await proveEmail(ua, base, email, 'Key Test') });
      assert.equal(start.status, 200, start.text);
      const { challengeId, options } = start.json();
      return ua.postJson(`${base}/signup/verify`, { challengeId, response: authenticator.createCredential(options, ua.origin) });
    };
    const count = async (table: 'users' | 'credentials') => (await server.services.database.db.selectFrom(table).select('id').execute()).length;

    for (const [name, fault, reason] of badCredentials) {
      test(`${name} is refused with a clear 400, and no account is made`, async () => {
        const [users, credentials] = [await count('users'), await count('credentials')];
        const done = await signUp(new FaultyAuthenticator(fault), `${name.replace(/\W+/g, '-')}@example.com`);
        assert.equal(done.status, 400, done.text);
        assert.equal(done.json().error, 'registration_invalid');
        assert.match(done.json().message, /^This passkey( cannot be used|'s public key is not valid)/);
        assert.match(done.json().message, reason);
        assert.deepEqual([await count('users'), await count('credentials')], [users, credentials]);
      });
    }

    for (const [name, key] of [['an RSA 2048 key', () => rsaKey(2048)], ['a P-384 key', () => ecKey('P-384', -35)], ['an Ed25519 key', ed25519Key]] as const) {
      test(`${name} is accepted`, async () => {
        const done = await signUp(new FaultyAuthenticator(withKey(key())), `good-${name.replace(/\W+/g, '-')}@example.com`);
        assert.equal(done.status, 200, done.text);
      });
    }
  });
}
