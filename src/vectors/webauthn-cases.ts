import { decodeAttestationObject, isoBase64URL } from '@simplewebauthn/server/helpers';
import { authenticationResponseSchema, registrationResponseSchema } from '../webauthn/response-schema.js';
import { verifyRegistration, SUPPORTED_ALGORITHMS } from '../webauthn/verify-registration.js';
import { verifyAssertion } from '../webauthn/verify-assertion.js';
import { badRequest, SesameError } from '../errors.js';

/** One line of ../shared/vectors/webauthn-*.jsonl (see that folder's README). */
export interface WebAuthnCase {
  case: string;
  rpId: string | string[];
  origin: string | string[];
  challenge: string;
  response: { response: Record<string, unknown> } & Record<string, unknown>;
  credentialPublicKey?: string;
  prevCounter?: number;
  options?: { requireUserVerification?: boolean; requireUserPresence?: boolean; supportedPubKeyAlgs?: number[] };
  verifyAt?: string;
  expect: 'valid' | 'invalid';
  invalidReason?: string;
}

export type Outcome = { verdict: 'pass' | 'mismatch' | 'deferred'; detail: string };

/** What the rejection message must be about for each invalidReason of the vector format. */
const REASON_PATTERNS: Record<string, RegExp> = {
  'challenge-mismatch': /challenge/i,
  'origin-mismatch': /origin/i,
  'rpid-mismatch': /RP ?ID/i,
  'counter-not-increased': /counter/i,
  'bad-signature': /signature/i,
  'uv-required-but-not-verified': /user.*verif/i,
  'malformed-attestation-object': /./,
  'invalid-tokenBinding-status': /token ?binding/i,
  'attestation-cert-aaguid-extension-mismatch': /aaguid/i,
  'safetynet-ctsProfileMatch-false': /cts/i,
};

/** Rejections that come from checking an x5c chain against trust anchors (or its dates), not the ceremony itself. */
const TRUST_ERROR = /certificate|root|x5c|chain|expired|not yet valid|metadata|manufacturer/i;

export function isRegistrationCase(c: WebAuthnCase): boolean {
  return typeof c.response.response.attestationObject === 'string';
}

/**
 * Runs one case through the server's own code: the request schema that normalises the JSON and
 * verifyRegistration / verifyAssertion with the case's expectations. The only cases that may
 * end `deferred` are attestations carrying an x5c chain whose verdict depends on trust anchors
 * (or the vector's frozen clock, verifyAt): attestation trust is a later piece of work.
 */
export async function runWebAuthnCase(c: WebAuthnCase): Promise<Outcome> {
  const registration = isRegistrationCase(c);
  const needsTrust = registration && hasCertificateChain(c);
  let error: Error | undefined;
  try {
    if (registration) {
      const response = registrationResponseSchema.parse(c.response);
      await verifyRegistration(response, {
        challenge: c.challenge,
        origin: c.origin,
        rpId: c.rpId,
        requireUserVerification: requiresUserVerification(c),
        supportedAlgorithms: c.options?.supportedPubKeyAlgs ?? SUPPORTED_ALGORITHMS,
      });
    } else {
      const response = authenticationResponseSchema.parse(c.response);
      const verified = await verifyAssertion(response, {
        challenge: c.challenge,
        origin: c.origin,
        rpId: c.rpId,
        requireUserVerification: requiresUserVerification(c),
        credential: { id: response.id, publicKey: isoBase64URL.toBuffer(c.credentialPublicKey!), counter: c.prevCounter ?? 0 },
      });
      // The server's default policy (counterRegression: deny) refuses such a sign-in.
      if (verified.counterRegressed) throw badRequest('The sign count did not move forward.', 'passkey_possibly_cloned');
    }
  } catch (caught) {
    error = caught as Error;
    if (!(caught instanceof SesameError) && (caught as { name?: string }).name !== 'ZodError') {
      return { verdict: 'mismatch', detail: `crashed instead of a clean rejection: ${error.message}` };
    }
  }

  if (c.expect === 'valid') {
    if (!error) return { verdict: 'pass', detail: 'verified' };
    if (needsTrust && TRUST_ERROR.test(error.message)) return deferTrust(c, error);
    return { verdict: 'mismatch', detail: `expected valid, rejected: ${error.message}` };
  }
  if (!error) {
    return needsTrust
      ? deferTrust(c, new Error(`accepted; rejecting it (${c.invalidReason}) takes attestation trust checks`))
      : { verdict: 'mismatch', detail: `expected invalid (${c.invalidReason}), but it verified` };
  }
  const pattern = REASON_PATTERNS[(c.invalidReason ?? '').split(' ')[0]] ?? /./;
  if (pattern.test(error.message)) return { verdict: 'pass', detail: `rejected: ${error.message}` };
  if (needsTrust && TRUST_ERROR.test(error.message)) return deferTrust(c, error);
  return { verdict: 'mismatch', detail: `rejected for another reason than ${c.invalidReason}: ${error.message}` };
}

/**
 * The case's own policy: user verification is required only when the source says so (its
 * options, or a case that is invalid precisely because UV was missing). WebAuthn's baseline
 * (§7.1, §7.2) checks UV only when the relying party requires it.
 */
function requiresUserVerification(c: WebAuthnCase): boolean {
  return c.options?.requireUserVerification ?? c.invalidReason?.startsWith('uv-required') ?? false;
}

function deferTrust(c: WebAuthnCase, error: Error): Outcome {
  const clock = c.verifyAt ? ` as of ${c.verifyAt}` : '';
  return { verdict: 'deferred', detail: `needs attestation trust anchors / MDS${clock} (${error.message})` };
}

function hasCertificateChain(c: WebAuthnCase): boolean {
  try {
    const decoded = decodeAttestationObject(isoBase64URL.toBuffer(normalise(String(c.response.response.attestationObject))));
    const statement = decoded.get('attStmt');
    // android-safetynet carries its chain inside the JWS `response`.
    return Array.isArray(statement.get('x5c')) || statement.get('response') !== undefined;
  } catch {
    return false;
  }
}

function normalise(value: string): string {
  return value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
