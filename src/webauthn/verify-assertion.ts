import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { encodeCBOR } from '@levischuck/tiny-cbor';
import { badRequest } from '../errors.js';
import { coseAlgorithm, okpCurve, verifyCoseSignature } from './attestation/cose-key.js';
import { isMlDsa, mlDsaAlgorithms, ML_DSA_ALGORITHMS } from './attestation/algorithms.js';
import type { AuthenticationResponse } from './response-schema.js';
import { checkFraming, type FramingPolicy } from './framing.js';

export interface AssertionExpectation {
  challenge: string;
  origin: string | string[];
  rpId: string | string[];
  requireUserVerification: boolean;
  credential: { id: string; publicKey: Uint8Array; counter: number };
  /** Top origins a framed ceremony may run under (framing.ts); none by default. */
  framing?: FramingPolicy;
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
 * Verifies a WebAuthn assertion against a stored credential: challenge, origin, RP ID hash,
 * user presence (and verification when required) and signature (ML-DSA through
 * @simplewebauthn/server's WebCrypto path, where the runtime has it; Ed448 below). Whether a non-zero sign counter
 * moved forward is reported, not enforced: a counter that did not is the mark of a cloned
 * authenticator, and the tenant's policy says what follows (the library would only throw).
 */
export async function verifyAssertion(response: AuthenticationResponse, expected: AssertionExpectation): Promise<VerifiedAssertion> {
  await refuseAlgorithmRuntimeLacks(expected.credential.publicKey);
  let result;
  try {
    const topOrigin = checkFraming(response.response.clientDataJSON, expected.framing ?? []);
    const { checkedResponse, publicKey } = substituteEd448(response, expected.credential.publicKey);
    result = await verifyAuthenticationResponse({
      response: checkedResponse as never,
      expectedChallenge: expected.challenge,
      expectedOrigin: expected.origin,
      expectedRPID: expected.rpId,
      expectedTopOrigin: topOrigin,
      requireUserVerification: expected.requireUserVerification,
      credential: { id: expected.credential.id, publicKey: publicKey as Uint8Array<ArrayBuffer>, counter: 0 },
    });
  } catch (error) {
    throw badRequest(`The passkey sign-in could not be verified: ${(error as Error).message}`, 'assertion_invalid');
  }
  if (!result.verified) throw badRequest('The passkey sign-in could not be verified: the signature does not match.', 'assertion_invalid');
  const info = result.authenticationInfo;
  return {
    newCounter: info.newCounter,
    userVerified: info.userVerified,
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    counterRegressed: (expected.credential.counter > 0 || info.newCounter > 0) && info.newCounter <= expected.credential.counter,
  };
}

/**
 * @simplewebauthn/server refuses Ed448 keys outright. Sesame checks the Ed448 signature over
 * authenticatorData ‖ SHA-256(clientDataJSON) itself (WebAuthn §7.2 step 21) and, once it holds,
 * lets the library run every other step on the same bytes with a one-time Ed25519 key that signs
 * them: one code path checks client data, RP ID, flags and counter for every algorithm.
 */
function substituteEd448(response: AuthenticationResponse, publicKey: Uint8Array): { checkedResponse: AuthenticationResponse; publicKey: Uint8Array } {
  if (okpCurve(publicKey) !== 'Ed448') return { checkedResponse: response, publicKey };
  const signed = Buffer.concat([
    Buffer.from(response.response.authenticatorData, 'base64url'),
    createHash('sha256').update(Buffer.from(response.response.clientDataJSON, 'base64url')).digest(),
  ]);
  if (!verifyCoseSignature(publicKey, signed, Buffer.from(response.response.signature, 'base64url'))) {
    throw new Error('the Ed448 signature does not match');
  }
  const oneTime = generateKeyPairSync('ed25519');
  const x = Buffer.from(oneTime.publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const coseKey = encodeCBOR(new Map<number, unknown>([[1, 1], [3, -8], [-1, 6], [-2, x]]) as never);
  const signature = sign(null, signed, oneTime.privateKey).toString('base64url');
  return { checkedResponse: { ...response, response: { ...response.response, signature } }, publicKey: coseKey };
}

/** A stored ML-DSA passkey on a runtime without ML-DSA (a server moved back to an older Node.js) is refused in words. */
async function refuseAlgorithmRuntimeLacks(publicKey: Uint8Array): Promise<void> {
  let alg: number | undefined;
  try {
    alg = coseAlgorithm(publicKey);
  } catch {
    return;
  }
  if (alg === undefined || !isMlDsa(alg) || (await mlDsaAlgorithms()).includes(alg)) return;
  throw badRequest(`This passkey uses ${ML_DSA_ALGORITHMS[alg]}, a post-quantum signature algorithm that this server cannot verify `
    + '(its runtime has no ML-DSA). Sign in with another passkey.', 'algorithm_unsupported');
}
