import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { badRequest } from '../errors.js';
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
 * Verifies a WebAuthn assertion against a stored credential: challenge, origin, RP ID hash,
 * user presence (and verification when required) and signature. Whether a non-zero sign counter
 * moved forward is reported, not enforced: a counter that did not is the mark of a cloned
 * authenticator, and the tenant's policy says what follows (the library would only throw).
 */
export async function verifyAssertion(response: AuthenticationResponse, expected: AssertionExpectation): Promise<VerifiedAssertion> {
  let result;
  try {
    result = await verifyAuthenticationResponse({
      response: response as never,
      expectedChallenge: expected.challenge,
      expectedOrigin: expected.origin,
      expectedRPID: expected.rpId,
      requireUserVerification: expected.requireUserVerification,
      credential: { id: expected.credential.id, publicKey: expected.credential.publicKey as Uint8Array<ArrayBuffer>, counter: 0 },
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
