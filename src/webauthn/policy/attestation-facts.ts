import type { CertificationLevel } from './authenticator-policy.js';

/**
 * What the attestation of a new passkey proved, the meeting point of attestation verification
 * (src/webauthn/attestation/) and the tenant's policy (this folder):
 * - verified: the attestation statement chains to a trusted root (not none, not self attestation);
 * - root: which root it chains to;
 * - certificationLevel: the FIDO certification of the model (L1 … L3plus), taken from the FIDO metadata;
 *   only meaningful when verified, since an unattested AAGUID is just a claim;
 * - aaguid: the model, as the authenticator data names it.
 */
export interface AttestationFacts {
  verified: boolean;
  root?: string;
  certificationLevel?: string;
  aaguid: string;
}

/** MDS3 certification statuses (FIDO_CERTIFIED_L2 …) as levels; the plain FIDO_CERTIFIED of older reports is L1. */
export function certificationLevelOf(status: string | undefined): CertificationLevel | undefined {
  if (status === 'FIDO_CERTIFIED') return 'L1';
  const match = /^FIDO_CERTIFIED_(L[123](?:plus)?)$/.exec(status ?? '');
  return match?.[1] as CertificationLevel | undefined;
}
