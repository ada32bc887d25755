import { verifyRegistrationResponse } from '@simplewebauthn/server';
import { badRequest } from '../errors.js';
import type { RegistrationResponse } from './response-schema.js';
import { checkCredentialId, checkCredentialPublicKey } from './public-key-checks.js';

/**
 * COSE algorithms Sesame accepts for new credentials: EdDSA, ECDSA (P-256/384/521), RSASSA-PSS and
 * PKCS#1 v1.5 with SHA-2, and RS1 (-65535), which older Windows Hello TPM keys still use.
 * Post-quantum ML-DSA is not offered: Node 20's WebCrypto cannot verify it.
 */
export const SUPPORTED_ALGORITHMS = [-8, -7, -35, -36, -37, -38, -39, -257, -258, -259, -65535];

export interface RegistrationExpectation {
  challenge: string;
  origin: string | string[];
  rpId: string | string[];
  requireUserVerification: boolean;
  supportedAlgorithms?: number[];
}

export interface VerifiedRegistration {
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  aaguid: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  attestationFormat: string;
  userVerified: boolean;
}

/**
 * Verifies a WebAuthn registration (attestation) response, and that the new credential can be used
 * (public-key-checks.ts). Throws a 400 SesameError with code `registration_invalid` and the precise
 * reason when anything does not match.
 */
export async function verifyRegistration(response: RegistrationResponse, expected: RegistrationExpectation): Promise<VerifiedRegistration> {
  let result;
  try {
    result = await verifyRegistrationResponse({
      response: response as never,
      expectedChallenge: expected.challenge,
      expectedOrigin: expected.origin,
      expectedRPID: expected.rpId,
      requireUserVerification: expected.requireUserVerification,
      supportedAlgorithmIDs: expected.supportedAlgorithms ?? SUPPORTED_ALGORITHMS,
    });
  } catch (error) {
    throw badRequest(`The passkey could not be registered: ${(error as Error).message}`, 'registration_invalid');
  }
  if (!result.verified) throw badRequest('The passkey could not be registered: its attestation did not verify.', 'registration_invalid');
  const info = result.registrationInfo;
  checkCredentialId(Buffer.from(info.credential.id, 'base64url'));
  checkCredentialPublicKey(info.credential.publicKey);
  return {
    credentialId: info.credential.id,
    publicKey: info.credential.publicKey,
    counter: info.credential.counter,
    transports: response.response.transports ?? [],
    aaguid: info.aaguid,
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    attestationFormat: info.fmt,
    userVerified: info.userVerified,
  };
}
