import { constants, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { coseToKeyObject } from '../webauthn/attestation/cose-key.js';
import { SesameError } from '../errors.js';

/**
 * Signature algorithms and public-key formats of the FIDO Registry of Predefined Values v2.2
 * (§3.6.1, §3.6.2), as UAF's ASSERTION_INFO names them, verified with node:crypto.
 */

type Kind = 'ecdsa' | 'rsa-pss' | 'rsa-pkcs1' | 'eddsa';

interface Algorithm {
  name: string;
  kind: Kind;
  hash?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** The EC curve (node's name) or the EdDSA key type. */
  curve?: string;
  /** ECDSA: raw r‖s or ASN.1 DER. RSA: the raw signature or a DER OCTET STRING holding it. */
  der: boolean;
}

export const ALGORITHMS: Record<number, Algorithm> = {
  0x0001: { name: 'secp256r1_ecdsa_sha256_raw', kind: 'ecdsa', hash: 'sha256', curve: 'prime256v1', der: false },
  0x0002: { name: 'secp256r1_ecdsa_sha256_der', kind: 'ecdsa', hash: 'sha256', curve: 'prime256v1', der: true },
  0x0003: { name: 'rsassa_pss_sha256_raw', kind: 'rsa-pss', hash: 'sha256', der: false },
  0x0004: { name: 'rsassa_pss_sha256_der', kind: 'rsa-pss', hash: 'sha256', der: true },
  0x0005: { name: 'secp256k1_ecdsa_sha256_raw', kind: 'ecdsa', hash: 'sha256', curve: 'secp256k1', der: false },
  0x0006: { name: 'secp256k1_ecdsa_sha256_der', kind: 'ecdsa', hash: 'sha256', curve: 'secp256k1', der: true },
  0x0008: { name: 'rsa_emsa_pkcs1_sha256_raw', kind: 'rsa-pkcs1', hash: 'sha256', der: false },
  0x0009: { name: 'rsa_emsa_pkcs1_sha256_der', kind: 'rsa-pkcs1', hash: 'sha256', der: true },
  0x000a: { name: 'rsassa_pss_sha384_raw', kind: 'rsa-pss', hash: 'sha384', der: false },
  0x000b: { name: 'rsassa_pss_sha512_raw', kind: 'rsa-pss', hash: 'sha512', der: false },
  0x000c: { name: 'rsassa_pkcsv15_sha256_raw', kind: 'rsa-pkcs1', hash: 'sha256', der: false },
  0x000d: { name: 'rsassa_pkcsv15_sha384_raw', kind: 'rsa-pkcs1', hash: 'sha384', der: false },
  0x000e: { name: 'rsassa_pkcsv15_sha512_raw', kind: 'rsa-pkcs1', hash: 'sha512', der: false },
  0x000f: { name: 'rsassa_pkcsv15_sha1_raw', kind: 'rsa-pkcs1', hash: 'sha1', der: false },
  0x0010: { name: 'secp384r1_ecdsa_sha384_raw', kind: 'ecdsa', hash: 'sha384', curve: 'secp384r1', der: false },
  0x0011: { name: 'secp521r1_ecdsa_sha512_raw', kind: 'ecdsa', hash: 'sha512', curve: 'secp521r1', der: false },
  0x0012: { name: 'ed25519_eddsa_sha512_raw', kind: 'eddsa', curve: 'ed25519', der: false },
  0x0013: { name: 'ed448_eddsa_sha512_raw', kind: 'eddsa', curve: 'ed448', der: false },
};

export const KEY_FORMATS: Record<number, string> = {
  0x0100: 'ecc_x962_raw',
  0x0101: 'ecc_x962_der',
  0x0102: 'rsa_2048_raw',
  0x0103: 'rsa_2048_der',
  0x0104: 'cose',
};

const HASH_BYTES = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;
const JWK_CURVES: Record<string, string> = { prime256v1: 'P-256', secp256k1: 'secp256k1', secp384r1: 'P-384', secp521r1: 'P-521' };

const unacceptable = (message: string) => new SesameError('uaf_unacceptable_algorithm', 400, message);
const badKey = (message: string) => new SesameError('uaf_bad_key', 400, `The UAF public key cannot be read: ${message}.`);

export function algorithm(value: number): Algorithm {
  const found = ALGORITHMS[value];
  if (!found) {
    throw unacceptable(value === 0x0007
      ? 'The authenticator signs with SM2/SM3, which this server cannot verify.'
      : `The authenticator names signature algorithm 0x${value.toString(16).padStart(4, '0')}, which the FIDO registry does not define.`);
  }
  return found;
}

/**
 * Reads the PUB_KEY of a registration into a key of the type its algorithm needs. The result is
 * stored as SPKI DER, so authentication never reads the authenticator's format again.
 */
export function readPublicKey(alg: number, format: number, bytes: Buffer): KeyObject {
  const { kind, curve, name } = algorithm(alg);
  const formatName = KEY_FORMATS[format];
  if (!formatName) throw badKey(`format 0x${format.toString(16).padStart(4, '0')} is not in the FIDO registry`);
  let key: KeyObject;
  try {
    key = decode(kind, curve, format, bytes);
  } catch (error) {
    if (error instanceof SesameError) throw error;
    throw badKey(`it is not a valid ${formatName} key for ${name}`);
  }
  const type = key.asymmetricKeyType;
  const fits = kind === 'ecdsa' ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve
    : kind === 'eddsa' ? type === curve
    : type === 'rsa' || type === 'rsa-pss';
  if (!fits) throw badKey(`it is a ${type ?? 'unknown'} key, which ${name} cannot use`);
  return key;
}

function decode(kind: Kind, curve: string | undefined, format: number, bytes: Buffer): KeyObject {
  switch (format) {
    case 0x0100: {
      if (kind === 'eddsa') return createPublicKey({ key: { kty: 'OKP', crv: curve === 'ed448' ? 'Ed448' : 'Ed25519', x: bytes.toString('base64url') }, format: 'jwk' });
      const size = (bytes.length - 1) / 2;
      if (bytes[0] !== 0x04 || !Number.isInteger(size) || size < 32) throw badKey('an X9.62 raw key is 04‖X‖Y');
      const crv = JWK_CURVES[curve ?? ''];
      if (!crv) throw badKey('a raw X9.62 key needs an ECDSA algorithm');
      return createPublicKey({ key: { kty: 'EC', crv, x: bytes.subarray(1, 1 + size).toString('base64url'), y: bytes.subarray(1 + size).toString('base64url') }, format: 'jwk' });
    }
    case 0x0102: {
      // Registry: the 256-byte modulus, then the public exponent, both big-endian.
      if (bytes.length < 257 || bytes.length > 264) throw badKey('a raw RSA-2048 key is a 256-byte modulus and its exponent');
      return createPublicKey({ key: { kty: 'RSA', n: bytes.subarray(0, 256).toString('base64url'), e: bytes.subarray(256).toString('base64url') }, format: 'jwk' });
    }
    case 0x0103:
      try {
        return createPublicKey({ key: bytes, format: 'der', type: 'spki' });
      } catch {
        return createPublicKey({ key: bytes, format: 'der', type: 'pkcs1' });
      }
    case 0x0104:
      return coseToKeyObject(bytes);
    default:
      return createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  }
}

/** Whether `signature` by `key` over `data` is valid for UAF algorithm `alg`. Never throws for a bad signature. */
export function verifyUafSignature(alg: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const { kind, hash, der } = algorithm(alg);
  try {
    if (kind === 'eddsa') return verifySignature(null, data, key, signature);
    if (kind === 'ecdsa') return verifySignature(hash!, data, { key, dsaEncoding: der ? 'der' : 'ieee-p1363' }, signature);
    const raw = der ? unwrapOctetString(signature) : signature;
    if (!raw) return false;
    if (kind === 'rsa-pss') {
      return verifySignature(hash!, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[hash!] }, raw);
    }
    return verifySignature(hash!, data, { key, padding: constants.RSA_PKCS1_PADDING }, raw);
  } catch {
    return false;
  }
}

/** The _DER RSA forms are the raw signature in an ASN.1 OCTET STRING (checked on eBay's vectors). */
function unwrapOctetString(bytes: Buffer): Buffer | undefined {
  if (bytes[0] !== 0x04 || bytes.length < 2) return undefined;
  let length = bytes[1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 2 || bytes.length < 2 + count) return undefined;
    length = bytes.readUIntBE(2, count);
    header += count;
  }
  return header + length === bytes.length ? bytes.subarray(header) : undefined;
}
