import fs from 'node:fs';
import path from 'node:path';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import { authenticationResponseSchema, registrationResponseSchema } from '../webauthn/response-schema.js';
import { verifyRegistration } from '../webauthn/verify-registration.js';
import { runtimeAlgorithms } from '../webauthn/attestation/algorithms.js';
import { verifyAssertion } from '../webauthn/verify-assertion.js';
import { badRequest, SesameError } from '../errors.js';
import type { FramingPolicy } from '../webauthn/framing.js';

/** One line of ../shared/vectors/webauthn-*.jsonl (see that folder's README). */
export interface WebAuthnCase {
  case: string;
  rpId: string | string[];
  origin: string | string[];
  challenge: string;
  response: { response: Record<string, unknown> } & Record<string, unknown>;
  credentialPublicKey?: string;
  prevCounter?: number;
  options?: { requireUserVerification?: boolean; requireUserPresence?: boolean; supportedPubKeyAlgs?: number[]; attestationSafetyNetEnforceCTSCheck?: boolean; expectedTopOrigin?: string | string[] };
  verifyAt?: string;
  /** How the source anchored the attestation chain: root PEMs inline, a file beside the vectors, or only a note. */
  trust?: { note?: string; rootsPem?: string[]; rootsPemFile?: string };
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

export function isRegistrationCase(c: WebAuthnCase): boolean {
  return typeof c.response.response.attestationObject === 'string';
}

/**
 * Runs one case through the server's own code: the request schema that normalises the JSON and
 * verifyRegistration / verifyAssertion with the case's expectations, trust anchors (`trust`) and
 * clock (`verifyAt`). A registration whose source anchored its chain at given roots must also come
 * out with a verified chain; without roots, the default policy accepts an unanchored chain.
 */
export async function runWebAuthnCase(c: WebAuthnCase, vectorsDir?: string): Promise<Outcome> {
  let error: Error | undefined;
  let trustDetail = '';
  const roots = rootsOf(c, vectorsDir);
  try {
    if (isRegistrationCase(c)) {
      const response = registrationResponseSchema.parse(c.response);
      const verified = await verifyRegistration(response, {
        challenge: c.challenge,
        origin: c.origin,
        rpId: c.rpId,
        requireUserVerification: requiresUserVerification(c),
        framing: framingOf(c),
        supportedAlgorithms: c.options?.supportedPubKeyAlgs ?? await runtimeAlgorithms(),
        attestation: {
          tenantRootsPem: roots,
          now: c.verifyAt ? new Date(c.verifyAt) : undefined,
          safetyNetRequireCtsProfile: c.options?.attestationSafetyNetEnforceCTSCheck ?? true,
        },
      });
      const { trust, type } = verified.attestation;
      trustDetail = trust.verified ? ` (${type}, chain verified to ${trust.root?.subject})` : ` (${type}, attestation not verified: ${trust.reason})`;
      if (roots.length > 0 && !trust.verified) {
        return { verdict: 'mismatch', detail: `accepted, but the chain did not verify to the case's roots: ${trust.reason}` };
      }
    } else {
      const response = authenticationResponseSchema.parse(c.response);
      const verified = await verifyAssertion(response, {
        challenge: c.challenge,
        origin: c.origin,
        rpId: c.rpId,
        requireUserVerification: requiresUserVerification(c),
        framing: framingOf(c),
        credential: { id: response.id, publicKey: isoBase64URL.toBuffer(c.credentialPublicKey!), counter: c.prevCounter ?? 0 },
      });
      // The server's default policy (counterRegression: deny) refuses such a sign-in.
      if (verified.counterRegressed) throw badRequest('The signature counter did not move forward (the mark of a cloned authenticator).', 'passkey_possibly_cloned');
    }
  } catch (caught) {
    error = caught as Error;
    if (!(caught instanceof SesameError) && (caught as { name?: string }).name !== 'ZodError') {
      return { verdict: 'mismatch', detail: `crashed instead of a clean rejection: ${error.message}` };
    }
  }

  if (c.expect === 'valid') {
    // What the issue and the vectors' README ask of a runtime without ML-DSA: a clear refusal, never a crash.
    if ((error as SesameError | undefined)?.code === 'algorithm_unsupported') {
      return { verdict: 'pass', detail: `refused as specified for a runtime without ML-DSA (verified where it has it): ${error!.message}` };
    }
    return error ? { verdict: 'mismatch', detail: `expected valid, rejected: ${error.message}` } : { verdict: 'pass', detail: `verified${trustDetail}` };
  }
  if (!error) return { verdict: 'mismatch', detail: `expected invalid (${c.invalidReason}), but it verified${trustDetail}` };
  const pattern = REASON_PATTERNS[(c.invalidReason ?? '').split(' ')[0]] ?? /./;
  if (pattern.test(error.message)) return { verdict: 'pass', detail: `rejected: ${error.message}` };
  return { verdict: 'mismatch', detail: `rejected for another reason than ${c.invalidReason}: ${error.message}` };
}

/** The case's trust anchors: inline PEMs, or a PEM file relative to the vectors folder. */
function rootsOf(c: WebAuthnCase, vectorsDir: string | undefined): string[] {
  const roots = [...(c.trust?.rootsPem ?? [])];
  if (c.trust?.rootsPemFile) {
    if (!vectorsDir) throw new Error(`${c.case} names ${c.trust.rootsPemFile}, but the vectors folder is unknown`);
    roots.push(fs.readFileSync(path.join(vectorsDir, c.trust.rootsPemFile), 'utf8'));
  }
  return roots;
}

/**
 * The case's own policy: user verification is required only when the source says so (its
 * options, or a case that is invalid precisely because UV was missing). WebAuthn's baseline
 * (§7.1, §7.2) checks UV only when the relying party requires it.
 */
function requiresUserVerification(c: WebAuthnCase): boolean {
  return c.options?.requireUserVerification ?? c.invalidReason?.startsWith('uv-required') ?? false;
}

/**
 * Where the case's relying party expects its ceremonies to be framed (WebAuthn L3 §7.1 steps
 * 10–11, §7.2 steps 12–13 leave it to the RP): under the top origins its options name
 * (SimpleWebAuthn's expectedTopOrigin), under none when the case is invalid for its origin, and
 * otherwise under any — a source that states a framed ceremony valid (the W3C topOrigin vectors)
 * did so for an RP that expects it. Sesame's tenants accept framing under their own origins only.
 */
function framingOf(c: WebAuthnCase): FramingPolicy {
  const expected = c.options?.expectedTopOrigin;
  if (expected !== undefined) return Array.isArray(expected) ? expected : [expected];
  return c.invalidReason?.startsWith('origin-mismatch') ? [] : 'any';
}
