import { z } from 'zod';
import { isMlDsa, mlDsaAlgorithms, runtimeAlgorithms } from '../attestation/algorithms.js';

/** FIDO Authenticator Certification levels, lowest first (FIDO_CERTIFIED_L1 … FIDO_CERTIFIED_L3plus in MDS3). */
export const CERTIFICATION_LEVELS = ['L1', 'L1plus', 'L2', 'L2plus', 'L3', 'L3plus'] as const;
export type CertificationLevel = (typeof CERTIFICATION_LEVELS)[number];

/** COSE algorithm names people type (`--algorithms ES256,EdDSA`), for the identifiers Sesame can verify (ML-DSA where the runtime has it). */
export const ALGORITHM_NAMES: Record<string, number> = {
  ES256: -7, EdDSA: -8, Ed25519: -19, Ed448: -53, RS256: -257, ES384: -35, ES512: -36, PS256: -37, PS384: -38, PS512: -39, RS384: -258, RS512: -259, RS1: -65535,
  'ML-DSA-44': -48, 'ML-DSA-65': -49, 'ML-DSA-87': -50,
};

const aaguid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/**
 * Which authenticators a tenant accepts and what it asks of them. Stored per tenant as JSON
 * (tenants.authenticator_policy); a missing field takes its default, so an older row keeps working.
 */
export const authenticatorPolicySchema = z.object({
  /** Attestation conveyance asked for at registration (WebAuthn §5.4.7). */
  attestation: z.enum(['none', 'direct', 'enterprise']).default('none'),
  /** any: every passkey; attested: its attestation verified to a trusted root; certified: and FIDO certified at minimumCertification or higher. */
  trust: z.enum(['any', 'attested', 'certified']).default('any'),
  minimumCertification: z.enum(CERTIFICATION_LEVELS).default('L1'),
  /** When not empty, only these AAGUIDs (authenticator models) may register. */
  aaguidAllow: z.array(aaguid).default([]),
  aaguidDeny: z.array(aaguid).default([]),
  /** device-bound-only refuses backup-eligible (BE=1) credentials: synced passkeys. */
  syncedPasskeys: z.enum(['allowed', 'device-bound-only']).default('allowed'),
  userVerification: z.enum(['required', 'preferred']).default('required'),
  /** default: every algorithm this runtime verifies (runtimeAlgorithms), so that ML-DSA is offered once the runtime has it; or a list. */
  algorithms: z.union([z.literal('default'), z.array(z.number().int()).min(1)]).default('default'),
  residentKey: z.enum(['required', 'preferred']).default('required'),
  /** Which kind of authenticator the browser offers first; any: the browser's choice. */
  attachment: z.enum(['any', 'platform', 'cross-platform', 'hybrid']).default('any'),
  /** What a sign count that did not move forward does: deny the sign-in, or let it through; the passkey is flagged either way. */
  counterRegression: z.enum(['deny', 'allow-and-flag']).default('deny'),
});

export type AuthenticatorPolicy = z.infer<typeof authenticatorPolicySchema>;

export const DEFAULT_POLICY: AuthenticatorPolicy = authenticatorPolicySchema.parse({});

/** The policy stored for a tenant (null: the defaults). */
export function parseStoredPolicy(json: string | null): AuthenticatorPolicy {
  return json ? authenticatorPolicySchema.parse(JSON.parse(json)) : DEFAULT_POLICY;
}

export function atLeast(level: string | undefined, minimum: CertificationLevel): boolean {
  const index = CERTIFICATION_LEVELS.indexOf(level as CertificationLevel);
  return index >= 0 && index >= CERTIFICATION_LEVELS.indexOf(minimum);
}

/**
 * The algorithms registration offers and accepts under the policy, in its order. A listed ML-DSA
 * algorithm this runtime cannot verify is left out (`tenant set --algorithms` refuses to list one,
 * but a server may move to a runtime without it); if nothing else is listed, the list stays whole
 * and such a passkey is refused with the reason (verifyRegistration).
 */
export async function offeredAlgorithms(policy: AuthenticatorPolicy): Promise<number[]> {
  if (policy.algorithms === 'default') return runtimeAlgorithms();
  const verifiable = await mlDsaAlgorithms();
  const offered = policy.algorithms.filter((alg) => !isMlDsa(alg) || verifiable.includes(alg));
  return offered.length > 0 ? offered : [...policy.algorithms];
}
