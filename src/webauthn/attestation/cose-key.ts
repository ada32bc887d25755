import { createPublicKey, verify as verifySignature, constants, type KeyObject } from 'node:crypto';
import { decodeCBOR } from '@levischuck/tiny-cbor';

/**
 * COSE public keys (RFC 9052/9053, RFC 8812) as node:crypto keys, and the signatures WebAuthn
 * makes with them: assertions (verify-assertion.ts), and attestation signatures, which Sesame
 * checks itself where @simplewebauthn/server cannot (Ed448, COSE -53 with crv 7, which it
 * refuses; certificates against its own clock).
 */

type Verifier = { hash: string | null; padding?: number; saltLength?: number; kty: number; ecdsaDer?: boolean };

export const COSE_ALGORITHMS: Record<number, Verifier & { name: string }> = {
  [-7]: { name: 'ES256', hash: 'sha256', kty: 2, ecdsaDer: true },
  [-35]: { name: 'ES384', hash: 'sha384', kty: 2, ecdsaDer: true },
  [-36]: { name: 'ES512', hash: 'sha512', kty: 2, ecdsaDer: true },
  [-8]: { name: 'EdDSA', hash: null, kty: 1 },
  [-19]: { name: 'Ed25519', hash: null, kty: 1 },
  [-53]: { name: 'Ed448', hash: null, kty: 1 },
  [-257]: { name: 'RS256', hash: 'sha256', kty: 3, padding: constants.RSA_PKCS1_PADDING },
  [-258]: { name: 'RS384', hash: 'sha384', kty: 3, padding: constants.RSA_PKCS1_PADDING },
  [-259]: { name: 'RS512', hash: 'sha512', kty: 3, padding: constants.RSA_PKCS1_PADDING },
  [-65535]: { name: 'RS1', hash: 'sha1', kty: 3, padding: constants.RSA_PKCS1_PADDING },
  [-37]: { name: 'PS256', hash: 'sha256', kty: 3, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  [-38]: { name: 'PS384', hash: 'sha384', kty: 3, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
  [-39]: { name: 'PS512', hash: 'sha512', kty: 3, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
};

/** ML-DSA-44/65/87 (COSE -48/-49/-50, draft-ietf-cose-dilithium): not verifiable on Node.js 20. */
export const ML_DSA_ALGORITHMS = [-48, -49, -50];

const KEY_TYPES: Record<number, string> = { 1: 'ed25519', 2: 'ec', 3: 'rsa' };
const EC_CURVES: Record<number, string> = { 1: 'P-256', 2: 'P-384', 3: 'P-521' };
const OKP_CURVES: Record<number, string> = { 6: 'Ed25519', 7: 'Ed448' };

export function decodeCoseKey(cose: Uint8Array): Map<number, unknown> {
  const decoded = decodeCBOR(cose);
  if (!(decoded instanceof Map)) throw new Error('the public key is not a COSE key');
  return decoded as Map<number, unknown>;
}

export function coseAlgorithm(cose: Uint8Array): number | undefined {
  const alg = decodeCoseKey(cose).get(3);
  return typeof alg === 'number' ? alg : undefined;
}

export function coseToKeyObject(cose: Uint8Array): KeyObject {
  const key = decodeCoseKey(cose);
  const kty = key.get(1);
  const b64 = (label: number) => {
    const value = key.get(label);
    if (!(value instanceof Uint8Array)) throw new Error(`the COSE key lacks parameter ${label}`);
    return Buffer.from(value).toString('base64url');
  };
  if (kty === 2) {
    const crv = EC_CURVES[key.get(-1) as number];
    if (!crv) throw new Error('the COSE key names an unsupported elliptic curve');
    return createPublicKey({ key: { kty: 'EC', crv, x: b64(-2), y: b64(-3) }, format: 'jwk' });
  }
  if (kty === 1) {
    const crv = OKP_CURVES[key.get(-1) as number];
    if (!crv) throw new Error('the COSE key names an unsupported EdDSA curve');
    return createPublicKey({ key: { kty: 'OKP', crv, x: b64(-2) }, format: 'jwk' });
  }
  if (kty === 3) return createPublicKey({ key: { kty: 'RSA', n: b64(-1), e: b64(-2) }, format: 'jwk' });
  throw new Error(`the COSE key type ${String(kty)} is not supported`);
}

/**
 * Verifies `signature` over `data` with `key` for COSE algorithm `alg`. ECDSA signatures are the
 * ASN.1 DER form WebAuthn specifies (§6.5.5); EdDSA picks Ed25519 or Ed448 from the key.
 */
export function verifyWithAlgorithm(alg: number, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (ML_DSA_ALGORITHMS.includes(alg)) throw new Error(`ML-DSA (COSE ${alg}) cannot be verified by this Node.js version`);
  const verifier = COSE_ALGORITHMS[alg];
  if (!verifier) throw new Error(`unsupported algorithm (COSE ${alg})`);
  // A key of another type than its algorithm must not verify (an RS256 signature presented as ES256).
  if (KEY_TYPES[verifier.kty] !== key.asymmetricKeyType && !(verifier.kty === 1 && key.asymmetricKeyType === 'ed448')) return false;
  try {
    if (key.asymmetricKeyType === 'rsa') {
      return verifySignature(verifier.hash, data, { key, padding: verifier.padding, saltLength: verifier.saltLength }, signature);
    }
    return verifySignature(verifier.hash, data, key, signature);
  } catch {
    return false;
  }
}

export function verifyCoseSignature(cose: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const alg = coseAlgorithm(cose);
  if (alg === undefined) throw new Error('the public key names no algorithm');
  return verifyWithAlgorithm(alg, coseToKeyObject(cose), data, signature);
}
