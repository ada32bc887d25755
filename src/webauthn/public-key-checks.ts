import { createPublicKey } from 'node:crypto';
import { decodeCBOR } from '@levischuck/tiny-cbor';
import { badRequest } from '../errors.js';
import { ML_DSA_ALGORITHMS } from './attestation/algorithms.js';

/**
 * A registration whose attestation verifies can still carry a public key that no signature will
 * ever match (a point off its curve, a tiny RSA modulus, a key of another type than its algorithm)
 * or a credential id no browser can send back. Accepting one would tell the person "done" and lock
 * them out at their next sign-in, so such a passkey is refused at registration.
 */

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;
const MAX_CREDENTIAL_ID_BYTES = 1023; // WebAuthn Level 3, § 6.1 credentialIdLength
const EC_CURVES: Record<number, { name: string; bytes: number; alg: number }> = {
  1: { name: 'P-256', bytes: 32, alg: -7 },
  2: { name: 'P-384', bytes: 48, alg: -35 },
  3: { name: 'P-521', bytes: 66, alg: -36 },
};
const RSA_ALGORITHMS = new Set([-37, -38, -39, -257, -258, -259, -65535]);
/** EdDSA, and the fully specified Ed25519 and Ed448 (RFC 9864). */
const OKP_ALGORITHMS: Record<number, number | undefined> = { [-8]: undefined, [-19]: 6, [-53]: 7 };
const OKP_CURVES: Record<number, { name: string; bytes: number; onCurve: (x: Uint8Array) => boolean }> = {
  6: { name: 'Ed25519', bytes: 32, onCurve: (x) => isEdwardsPoint(x, 2n ** 255n - 19n, -1n, -121665n, 121666n) },
  7: { name: 'Ed448', bytes: 57, onCurve: (x) => isEdwardsPoint(x, 2n ** 448n - 2n ** 224n - 1n, 1n, -39081n, 1n) },
};

/** FIPS 204 public key sizes of ML-DSA-44/65/87. */
const ML_DSA_KEY_BYTES: Record<number, number> = { [-48]: 1312, [-49]: 1952, [-50]: 2592 };

const COSE = { kty: 1, alg: 3, crv: -1, x: -2, y: -3, n: -1, e: -2, pub: -1 } as const;
const KTY = { OKP: 1, EC2: 2, RSA: 3, AKP: 7 } as const;

export function checkCredentialId(credentialId: Uint8Array): void {
  if (credentialId.length < 1 || credentialId.length > MAX_CREDENTIAL_ID_BYTES) {
    throw badRequest(`This passkey cannot be used: its credential id is ${credentialId.length} bytes long (it must be 1 to ${MAX_CREDENTIAL_ID_BYTES}). Your authenticator may be faulty; try another one.`, 'registration_invalid');
  }
}

/** Throws a 400 `registration_invalid` unless `coseKey` is a usable public key for its declared algorithm. */
export function checkCredentialPublicKey(coseKey: Uint8Array): void {
  let key: Map<number, unknown>;
  try {
    const decoded = decodeCBOR(coseKey);
    if (!(decoded instanceof Map)) throw new Error('not a map');
    key = decoded as Map<number, unknown>;
  } catch {
    throw invalid('it is not a COSE key');
  }
  const kty = key.get(COSE.kty);
  const alg = key.get(COSE.alg);
  if (typeof alg !== 'number') throw invalid('it names no algorithm');
  if (kty === KTY.EC2) checkEc2(key, alg);
  else if (kty === KTY.OKP) checkOkp(key, alg);
  else if (kty === KTY.RSA) checkRsa(key, alg);
  else if (kty === KTY.AKP) checkAkp(key, alg);
  else throw invalid(`its key type (${String(kty)}) is not one Sesame supports`);
}

function checkEc2(key: Map<number, unknown>, alg: number): void {
  const curve = EC_CURVES[key.get(COSE.crv) as number];
  if (!curve) throw invalid('its elliptic curve is not P-256, P-384 or P-521');
  if (curve.alg !== alg) throw invalid(`its algorithm (${alg}) does not match its curve ${curve.name}`);
  const x = bytes(key.get(COSE.x));
  const y = bytes(key.get(COSE.y));
  if (x?.length !== curve.bytes || y?.length !== curve.bytes) throw invalid(`its ${curve.name} point does not have ${curve.bytes}-byte coordinates`);
  // OpenSSL refuses a point that is not on the curve (or is the point at infinity).
  importJwk({ kty: 'EC', crv: curve.name, x: b64url(x), y: b64url(y) }, `its point is not on the ${curve.name} curve`);
}

function checkOkp(key: Map<number, unknown>, alg: number): void {
  if (!(alg in OKP_ALGORITHMS)) throw invalid(`its algorithm (${alg}) is not EdDSA, as its key type requires`);
  const crv = key.get(COSE.crv) as number;
  const curve = OKP_CURVES[crv];
  if (!curve) throw invalid('its EdDSA curve is not Ed25519 or Ed448');
  if (OKP_ALGORITHMS[alg] !== undefined && OKP_ALGORITHMS[alg] !== crv) throw invalid(`its algorithm (${alg}) does not match its curve ${curve.name}`);
  const x = bytes(key.get(COSE.x));
  if (x?.length !== curve.bytes) throw invalid(`its ${curve.name} key is not ${curve.bytes} bytes long`);
  if (!curve.onCurve(x)) throw invalid(`its ${curve.name} key is not a point on the curve`);
}

function checkRsa(key: Map<number, unknown>, alg: number): void {
  if (!RSA_ALGORITHMS.has(alg)) throw invalid(`its algorithm (${alg}) is not an RSA algorithm, as its key type requires`);
  const n = bytes(key.get(COSE.n));
  const e = bytes(key.get(COSE.e));
  if (!n || !e) throw invalid('its RSA modulus or exponent is missing');
  const modulus = BigInt(`0x${Buffer.from(n).toString('hex') || '0'}`);
  const exponent = BigInt(`0x${Buffer.from(e).toString('hex') || '0'}`);
  const bits = modulus.toString(2).length;
  if (modulus === 0n || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw invalid(`its RSA key is ${modulus === 0n ? 0 : bits} bits (it must be ${MIN_RSA_BITS} to ${MAX_RSA_BITS})`);
  if (modulus % 2n === 0n) throw invalid('its RSA modulus is even');
  if (exponent < 3n || exponent % 2n === 0n || exponent >= modulus) throw invalid('its RSA exponent is not valid');
  importJwk({ kty: 'RSA', n: b64url(n), e: b64url(e) }, 'its RSA key cannot be read');
}

/** ML-DSA (AKP keys): the algorithm names the parameter set, whose public key has a fixed size. */
function checkAkp(key: Map<number, unknown>, alg: number): void {
  const name = ML_DSA_ALGORITHMS[alg];
  if (!name) throw invalid(`its algorithm (${alg}) is not ML-DSA, as its key type (AKP) requires`);
  const pub = bytes(key.get(COSE.pub));
  if (pub?.length !== ML_DSA_KEY_BYTES[alg]) throw invalid(`its ${name} key is not ${ML_DSA_KEY_BYTES[alg]} bytes long`);
  importJwk({ kty: 'AKP', alg: name, pub: b64url(pub) }, `its ${name} key cannot be read`);
}

/**
 * RFC 8032 § 5.1.3 (Ed25519) and § 5.2.3 (Ed448) point decoding: y below p, and
 * x² = (y² − 1) / (d·y² − a) has a square root (a = −1 for Ed25519, 1 for Ed448); d = dNum / dDen.
 */
function isEdwardsPoint(encoded: Uint8Array, p: bigint, a: bigint, dNum: bigint, dDen: bigint): boolean {
  // Little-endian y; the top bit of the last byte is the sign of x.
  const little = Buffer.from(encoded).reverse();
  const sign = little[0] >> 7;
  little[0] &= 0x7f;
  const y = BigInt(`0x${little.toString('hex')}`);
  if (y >= p) return false;
  const d = mod(dNum * modPow(dDen, p - 2n, p), p);
  const u = mod(y * y - 1n, p);
  const v = mod(d * y * y - a, p);
  const x2 = mod(u * modPow(v, p - 2n, p), p);
  if (x2 === 0n) return sign === 0;
  return modPow(x2, (p - 1n) / 2n, p) === 1n;
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = mod(base, modulus);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
const bytes = (value: unknown) => (value instanceof Uint8Array ? value : undefined);
const b64url = (value: Uint8Array) => Buffer.from(value).toString('base64url');

function importJwk(jwk: Record<string, string>, reason: string): void {
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw invalid(reason);
  }
}

function invalid(reason: string) {
  return badRequest(`This passkey's public key is not valid: ${reason}. Your authenticator or browser may be faulty; try another one, or update it.`, 'registration_invalid');
}
