import { z } from 'zod';
import { SUPPORTED_ALGORITHMS } from '../verify-registration.js';

/** FIDO Authenticator Certification levels, lowest first (FIDO_CERTIFIED_L1 … FIDO_CERTIFIED_L3plus in MDS3). */
export const CERTIFICATION_LEVELS = ['L1', 'L1plus', 'L2', 'L2plus', 'L3', 'L3plus'] as const;
export type CertificationLevel = (typeof CERTIFICATION_LEVELS)[number];

/** COSE algorithm names people type (`--algorithms ES256,EdDSA`), for the identifiers Sesame can verify. */
export const ALGORITHM_NAMES: Record<string, number> = {
  EdDSA: -8, ES256: -7, ES384: -35, ES512: -36, PS256: -37, PS384: -38, PS512: -39, RS256: -257, RS384: -258, RS512: -259, RS1: -65535,
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
  algorithms: z.array(z.number().int()).min(1).default([...SUPPORTED_ALGORITHMS]),
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
