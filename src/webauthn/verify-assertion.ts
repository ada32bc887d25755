import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { decodeClientDataJSON, isoBase64URL, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { badRequest } from '../errors.js';
import { coseAlgorithm, coseToKeyObject, verifyWithAlgorithm } from './attestation/cose-key.js';
import type { AuthenticationResponse } from './response-schema.js';

export interface AssertionExpectation {
  challenge: string;
  origin: string | string[];
  rpId: string | string[];
  requireUserVerification: boolean;
  credential: { id: string; publicKey: Uint8Array; counter: number };
}

export interface VerifiedAssertion {
  newCounter: number;
  userVerified: boolean;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  /** The sign count did not move forward (WebAuthn §6.1.1): the key may have been copied. The caller decides. */
  counterRegressed: boolean;
}

/**
 * Verifies a WebAuthn assertion against a stored credential (WebAuthn L3 §7.2): client data
 * type, challenge, origin (and no cross-origin frame), RP ID hash, user presence (and
 * verification when required), backup flags and the signature over authenticatorData ‖
 * SHA-256(clientDataJSON). Whether a non-zero sign counter moved forward is reported, not
 * enforced: a counter that did not is the mark of a cloned authenticator, and the tenant's policy
 * says what follows.
 *
 * The steps are those of @simplewebauthn/server's verifyAuthenticationResponse, in its order and
 * with its parsers (client data, authenticator data); the hashes and the signature are checked
 * with node:crypto and a KeyObject kept per public key. The library goes through WebCrypto, which
 * imports the key anew and hands each hash and the signature to the thread pool: about 0.4 ms of
 * CPU per sign-in against 0.06 ms here. Every COSE algorithm Sesame registers (Ed448 included,
 * which the library refuses) is verified by the one function that also checks attestations
 * (attestation/cose-key.ts).
 */
export async function verifyAssertion(response: AuthenticationResponse, expected: AssertionExpectation): Promise<VerifiedAssertion> {
  try {
    return check(response, expected);
  } catch (error) {
    throw badRequest(`The passkey sign-in could not be verified: ${(error as Error).message}`, 'assertion_invalid');
  }
}

function check(response: AuthenticationResponse, expected: AssertionExpectation): VerifiedAssertion {
  if (response.id !== response.rawId) throw new Error('Credential ID was not base64url-encoded');
  const clientData = decodeClientDataJSON(response.response.clientDataJSON);
  const { type, challenge, origin, crossOrigin, topOrigin, tokenBinding } = clientData;
  if (type !== 'webauthn.get') throw new Error(`Unexpected authentication response type: ${type}`);
  if (challenge !== expected.challenge) throw new Error(`Unexpected authentication response challenge "${challenge}", expected "${expected.challenge}"`);
  // Sesame's pages cannot be framed (CSP frame-ancestors 'none'): a ceremony inside another site's
  // frame is refused, as the library refuses one without an expected top origin.
  if (crossOrigin && topOrigin) throw new Error(`Detected cross-origin authentication response from top origin of "${topOrigin}"`);
  if (!crossOrigin && topOrigin) throw new Error(`Unexpected top origin of "${topOrigin}" within a non-cross-origin authentication response`);
  const origins = typeof expected.origin === 'string' ? [expected.origin] : expected.origin;
  if (!origins.includes(origin)) throw new Error(`Unexpected authentication response origin "${origin}", expected one of: ${origins.join(', ')}`);
  if (tokenBinding) {
    if (typeof tokenBinding !== 'object') throw new Error('ClientDataJSON tokenBinding was not an object');
    if (!['present', 'supported', 'notSupported'].includes(tokenBinding.status)) throw new Error(`Unexpected tokenBinding status ${tokenBinding.status}`);
  }

  const authenticatorData = isoBase64URL.toBuffer(response.response.authenticatorData);
  const { rpIdHash, flags, counter } = parseAuthenticatorData(authenticatorData);
  const rpIds = typeof expected.rpId === 'string' ? [expected.rpId] : expected.rpId;
  if (!rpIds.some((rpId) => sameBytes(rpIdHash, sha256(Buffer.from(rpId, 'ascii'))))) throw new Error('Unexpected RP ID hash');
  if (!flags.up) throw new Error('User not present during authentication');
  if (expected.requireUserVerification && !flags.uv) throw new Error('User verification required, but user could not be verified');
  if (flags.bs && !flags.be) throw new Error('Single-device credential indicated that it was backed up, which should be impossible.');

  const { alg, key } = publicKeyOf(expected.credential.publicKey);
  const signed = Buffer.concat([authenticatorData, sha256(Buffer.from(response.response.clientDataJSON, 'base64url'))]);
  if (!verifyWithAlgorithm(alg, key, signed, Buffer.from(response.response.signature, 'base64url'))) {
    throw new Error('the signature does not match');
  }
  return {
    newCounter: counter,
    userVerified: flags.uv,
    deviceType: flags.be ? 'multiDevice' : 'singleDevice',
    backedUp: flags.bs,
    counterRegressed: (expected.credential.counter > 0 || counter > 0) && counter <= expected.credential.counter,
  };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);

/** Public keys as node:crypto keys, by their COSE bytes; the least recently used are dropped beyond this many. */
const KEY_CACHE_SIZE = 4096;
const keys = new Map<string, { alg: number; key: KeyObject }>();

function publicKeyOf(cose: Uint8Array): { alg: number; key: KeyObject } {
  const id = Buffer.from(cose).toString('base64');
  let entry = keys.get(id);
  if (entry) {
    keys.delete(id);
  } else {
    const alg = coseAlgorithm(cose);
    if (alg === undefined) throw new Error('Credential public key was missing numeric alg');
    entry = { alg, key: coseToKeyObject(cose) };
    if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value as string);
  }
  keys.set(id, entry);
  return entry;
}
