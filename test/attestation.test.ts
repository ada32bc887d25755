import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import { encodeCBOR } from '@levischuck/tiny-cbor';
import { verifyAssertion } from '../src/webauthn/verify-assertion.js';
import { checkCredentialPublicKey } from '../src/webauthn/public-key-checks.js';

/** Every algorithm Sesame accepts, with keys made here, through the real assertion verification. */
const RP_ID = 'sesame.example';
const ORIGIN = 'https://sesame.example';

type Algorithm = { alg: number; keys: () => { publicKey: KeyObject; privateKey: KeyObject }; sign: (data: Buffer, key: KeyObject) => Buffer };
const ec = (curve: string, hash: string): Omit<Algorithm, 'alg'> => ({
  keys: () => generateKeyPairSync('ec', { namedCurve: curve }),
  sign: (data, key) => sign(hash, data, key),
});
const rsa = (hash: string, pss: boolean): Omit<Algorithm, 'alg'> => ({
  keys: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  sign: (data, key) => sign(hash, data, pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(hash).digest().length } : key),
});
const ed = (curve: 'ed25519' | 'ed448'): Omit<Algorithm, 'alg'> => ({
  keys: () => (curve === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448')),
  sign: (data, key) => sign(null, data, key),
});

const ALGORITHMS: Record<string, Algorithm> = {
  ES256: { alg: -7, ...ec('P-256', 'sha256') },
  ES384: { alg: -35, ...ec('P-384', 'sha384') },
  ES512: { alg: -36, ...ec('P-521', 'sha512') },
  RS256: { alg: -257, ...rsa('sha256', false) },
  RS384: { alg: -258, ...rsa('sha384', false) },
  RS512: { alg: -259, ...rsa('sha512', false) },
  RS1: { alg: -65535, ...rsa('sha1', false) },
  PS256: { alg: -37, ...rsa('sha256', true) },
  'EdDSA Ed25519': { alg: -8, ...ed('ed25519') },
  'Ed448 (-53)': { alg: -53, ...ed('ed448') },
  'EdDSA Ed448': { alg: -8, ...ed('ed448') },
};

function coseKey(alg: number, publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  const b = (v?: string) => Buffer.from(v!, 'base64url');
  if (jwk.kty === 'EC') return encodeCBOR(new Map<number, unknown>([[1, 2], [3, alg], [-1, { 'P-256': 1, 'P-384': 2, 'P-521': 3 }[jwk.crv!]!], [-2, b(jwk.x)], [-3, b(jwk.y)]]) as never);
  if (jwk.kty === 'OKP') return encodeCBOR(new Map<number, unknown>([[1, 1], [3, alg], [-1, jwk.crv === 'Ed25519' ? 6 : 7], [-2, b(jwk.x)]]) as never);
  return encodeCBOR(new Map<number, unknown>([[1, 3], [3, alg], [-1, b(jwk.n)], [-2, b(jwk.e)]]) as never);
}

interface Variation {
  tamper?: boolean;
  clientData?: Record<string, unknown>;
  rpId?: string;
  flags?: number;
  /** Bytes after the counter (none belong there without the AT or ED flag). */
  trailing?: Buffer;
  rawId?: string;
}

function assertion(algorithm: Algorithm, privateKey: KeyObject, variation: Variation = {}) {
  const challenge = Buffer.from('a challenge of the test').toString('base64url');
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: ORIGIN, crossOrigin: false, ...variation.clientData }));
  const authenticatorData = Buffer.concat([createHash('sha256').update(variation.rpId ?? RP_ID).digest(), Buffer.of(variation.flags ?? 0x05), Buffer.from([0, 0, 0, 7]), variation.trailing ?? Buffer.alloc(0)]);
  const signature = algorithm.sign(Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), privateKey);
  if (variation.tamper) signature[signature.length - 1] ^= 1;
  const id = Buffer.from('credential').toString('base64url');
  return {
    challenge,
    response: {
      id, rawId: variation.rawId ?? id, type: 'public-key' as const, clientExtensionResults: {},
      response: { clientDataJSON: clientDataJSON.toString('base64url'), authenticatorData: authenticatorData.toString('base64url'), signature: signature.toString('base64url') },
    },
  };
}

describe('algorithms: an assertion signed with a key of each supported algorithm', () => {
  for (const [name, algorithm] of Object.entries(ALGORITHMS)) {
    test(`${name} (COSE ${algorithm.alg}) verifies, and a tampered signature does not`, async () => {
      const { publicKey, privateKey } = algorithm.keys();
      const cose = coseKey(algorithm.alg, publicKey);
      checkCredentialPublicKey(cose);
      const expected = (challenge: string) => ({ challenge, origin: ORIGIN, rpId: RP_ID, requireUserVerification: true, credential: { id: 'Y3JlZGVudGlhbA', publicKey: cose, counter: 3 } });
      const good = assertion(algorithm, privateKey);
      const verified = await verifyAssertion(good.response, expected(good.challenge));
      assert.equal(verified.newCounter, 7);
      const bad = assertion(algorithm, privateKey, { tamper: true });
      await assert.rejects(verifyAssertion(bad.response, expected(bad.challenge)), /signature/i);
    });
  }
});

describe('assertions: every step of WebAuthn §7.2 refuses what it should', () => {
  const es256 = ALGORITHMS.ES256;
  const { publicKey, privateKey } = es256.keys();
  const cose = coseKey(es256.alg, publicKey);
  const verify = (variation: Variation, options: { requireUserVerification?: boolean; counter?: number } = {}) => {
    const { challenge, response } = assertion(es256, privateKey, variation);
    return verifyAssertion(response, {
      challenge, origin: [ORIGIN, 'https://related.example'], rpId: RP_ID, requireUserVerification: options.requireUserVerification ?? false,
      credential: { id: response.id, publicKey: cose, counter: options.counter ?? 0 },
    });
  };
  const refusals: Array<[string, Variation, RegExp, { requireUserVerification?: boolean }?]> = [
    ['a registration response', { clientData: { type: 'webauthn.create' } }, /type/],
    ['another challenge', { clientData: { challenge: 'b3RoZXI' } }, /challenge/],
    ['another origin', { clientData: { origin: 'https://evil.example' } }, /origin/],
    ['a ceremony inside another site\'s frame', { clientData: { crossOrigin: true, topOrigin: 'https://evil.example' } }, /in a frame inside https:\/\/evil.example/],
    ['a top origin on a same-origin ceremony', { clientData: { topOrigin: 'https://evil.example' } }, /top origin/],
    ['an unknown token binding status', { clientData: { tokenBinding: { status: 'maybe' } } }, /tokenBinding/],
    ['another RP ID', { rpId: 'evil.example' }, /RP ID/],
    ['no user presence', { flags: 0x04 }, /not present/],
    ['no user verification where it is required', { flags: 0x01 }, /verif/, { requireUserVerification: true }],
    ['backed up but not backup eligible', { flags: 0x15 }, /backed up/],
    ['bytes after the authenticator data', { trailing: Buffer.of(0) }, /Leftover/],
    ['an id that is not its rawId', { rawId: Buffer.from('another').toString('base64url') }, /Credential ID/],
  ];
  for (const [what, variation, reason, options] of refusals) {
    test(`refuses ${what}`, async () => {
      await assert.rejects(verify(variation, options), (error: Error & { code?: string }) => error.code === 'assertion_invalid' && reason.test(error.message));
    });
  }

  test('accepts a related origin, reports the flags, and reports a counter that did not move forward', async () => {
    const verified = await verify({ clientData: { origin: 'https://related.example' }, flags: 0x1d });
    assert.deepEqual(verified, { newCounter: 7, userVerified: true, deviceType: 'multiDevice', backedUp: true, counterRegressed: false });
    assert.equal((await verify({}, { counter: 7 })).counterRegressed, true);
    assert.equal((await verify({}, { counter: 8 })).counterRegressed, true);
  });
});

describe('public key checks: Ed448', () => {
  test('an Ed448 key that is not a point on the curve is refused at registration', () => {
    const x = Buffer.alloc(57, 0xff);
    x[56] = 0;
    assert.throws(() => checkCredentialPublicKey(encodeCBOR(new Map<number, unknown>([[1, 1], [3, -53], [-1, 7], [-2, x]]) as never)), /not a point on the curve|Ed448/);
  });
});
