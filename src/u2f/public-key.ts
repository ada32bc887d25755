import { createPublicKey, type KeyObject } from 'node:crypto';
import { cose, isoCBOR } from '@simplewebauthn/server/helpers';
import { badRequest } from '../errors.js';
import { USER_PUBLIC_KEY_LENGTH } from './raw-messages.js';

/**
 * A U2F user key is a raw uncompressed P-256 point (04‖X‖Y). Importing it as a JWK makes node
 * check that the point is on the curve.
 */
export function userPublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== USER_PUBLIC_KEY_LENGTH || raw[0] !== 0x04) {
    throw badRequest('The U2F public key is not a 65-byte uncompressed P-256 point.', 'u2f_bad_key');
  }
  const x = Buffer.from(raw.subarray(1, 33)).toString('base64url');
  const y = Buffer.from(raw.subarray(33, 65)).toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
  } catch {
    throw badRequest('The U2F public key is not a point on the P-256 curve.', 'u2f_bad_key');
  }
}

/** The same key as a COSE_Key (EC2, ES256), the form WebAuthn credentials are stored in. */
export function coseFromU2fKey(raw: Uint8Array): Uint8Array {
  userPublicKey(raw);
  const key = new Map<number, number | Uint8Array>();
  key.set(cose.COSEKEYS.kty, cose.COSEKTY.EC2);
  key.set(cose.COSEKEYS.alg, cose.COSEALG.ES256);
  key.set(cose.COSEKEYS.crv, cose.COSECRV.P256);
  key.set(cose.COSEKEYS.x, raw.slice(1, 33));
  key.set(cose.COSEKEYS.y, raw.slice(33, 65));
  return isoCBOR.encode(key as never);
}
