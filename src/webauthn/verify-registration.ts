import { verifyRegistrationResponse } from '@simplewebauthn/server';
import { decodeAttestationObject, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { encodeCBOR } from '@levischuck/tiny-cbor';
import { badRequest, SesameError } from '../errors.js';
import type { RegistrationResponse } from './response-schema.js';
import { checkCredentialId, checkCredentialPublicKey } from './public-key-checks.js';
import { verifyAttestation, type AttestationOptions, type AttestationResult } from './attestation/verify-attestation.js';
import { isMlDsa, mlDsaAlgorithms, ML_DSA_ALGORITHMS, runtimeAlgorithms } from './attestation/algorithms.js';
import { coseAlgorithm } from './attestation/cose-key.js';
import { checkFraming, type FramingPolicy } from './framing.js';

export interface RegistrationExpectation {
  challenge: string;
  origin: string | string[];
  rpId: string | string[];
  requireUserVerification: boolean;
  /** The COSE algorithms the relying party accepts; every one this runtime verifies by default. */
  supportedAlgorithms?: number[];
  /** Top origins a framed ceremony may run under (framing.ts); none by default. */
  framing?: FramingPolicy;
  /** Trust anchors, metadata and clock for the attestation statement. */
  attestation?: AttestationOptions & {
    /** The FIDO metadata of an AAGUID (known only once the response is read): its roots anchor the chain. */
    metadataFor?: (aaguid: string) => AttestationOptions['metadata'];
  };
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
  /** What the attestation proves (always verified; trust is a fact for the policy to judge). */
  attestation: AttestationResult;
}

/**
 * Verifies a WebAuthn registration (attestation) response, and that the new credential can be used
 * (public-key-checks.ts). Throws a 400 SesameError with code `registration_invalid` and the precise
 * reason when anything does not match.
 *
 * @simplewebauthn/server checks the ceremony (client data, RP ID hash, flags, algorithm). The
 * attestation statement is Sesame's own (attestation/): the library's format verifiers read the wall
 * clock, take roots from one process-wide list, and refuse Ed448, while Sesame needs per-tenant
 * roots, a verification clock, and a verdict on trust that a policy can weigh rather than a refusal.
 * So the library sees the same authenticator data under the `none` format.
 */
export async function verifyRegistration(response: RegistrationResponse, expected: RegistrationExpectation): Promise<VerifiedRegistration> {
  let result;
  let attestation: AttestationResult;
  try {
    const decoded = decodeAttestationObject(Buffer.from(response.response.attestationObject, 'base64url'));
    const fmt = decoded.get('fmt');
    const attStmt = decoded.get('attStmt');
    const authData = decoded.get('authData');
    if (typeof fmt !== 'string' || !(attStmt instanceof Map) || !(authData instanceof Uint8Array)) throw new Error('the attestation object is malformed');
    await refuseAlgorithmRuntimeLacks(authData);
    checkFraming(response.response.clientDataJSON, expected.framing ?? []);
    const ceremonyOnly = Buffer.from(encodeCBOR(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never)).toString('base64url');
    result = await verifyRegistrationResponse({
      response: { ...response, response: { ...response.response, attestationObject: ceremonyOnly } } as never,
      expectedChallenge: expected.challenge,
      expectedOrigin: expected.origin,
      expectedRPID: expected.rpId,
      requireUserVerification: expected.requireUserVerification,
      supportedAlgorithmIDs: expected.supportedAlgorithms ?? await runtimeAlgorithms(),
    });
    if (!result.verified) throw new Error('its authenticator data did not verify');
    const parsed = parseAuthenticatorData(authData);
    attestation = verifyAttestation({
      fmt,
      attStmt: attStmt as Map<string, unknown>,
      authData,
      clientDataJSON: Buffer.from(response.response.clientDataJSON, 'base64url'),
      rpIdHash: parsed.rpIdHash,
      credentialId: parsed.credentialID!,
      credentialPublicKey: parsed.credentialPublicKey!,
      aaguid: parsed.aaguid!,
    }, { ...expected.attestation, metadata: expected.attestation?.metadata ?? expected.attestation?.metadataFor?.(uuidOf(parsed.aaguid!)) });
  } catch (error) {
    if (error instanceof SesameError) throw error;
    throw badRequest(`The passkey could not be registered: ${(error as Error).message}`, 'registration_invalid');
  }
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
    attestationFormat: attestation.format,
    userVerified: info.userVerified,
    attestation,
  };
}

/** An AAGUID's 16 bytes as the usual lower-case UUID text. */
function uuidOf(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A passkey whose algorithm this runtime cannot verify (ML-DSA before Node.js has it) is refused
 * before anything else, in words: "unexpected public key alg" would tell the person nothing.
 */
async function refuseAlgorithmRuntimeLacks(authData: Parameters<typeof parseAuthenticatorData>[0]): Promise<void> {
  let alg: number | undefined;
  try {
    const key = parseAuthenticatorData(authData).credentialPublicKey;
    alg = key ? coseAlgorithm(key) : undefined;
  } catch {
    return; // unreadable authenticator data is refused by the ceremony's own checks
  }
  if (alg === undefined || !isMlDsa(alg) || (await mlDsaAlgorithms()).includes(alg)) return;
  throw badRequest(`This passkey uses ${ML_DSA_ALGORITHMS[alg]}, a post-quantum signature algorithm that this server cannot verify yet `
    + '(its runtime has no ML-DSA), so it was not saved. Use another passkey or security key; most offer a classical algorithm too.', 'algorithm_unsupported');
}
