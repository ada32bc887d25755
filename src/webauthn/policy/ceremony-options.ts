import type { AuthenticatorPolicy } from './authenticator-policy.js';

/**
 * The parts of the registration options the tenant's policy decides (SimpleWebAuthn's names), but
 * the algorithms, which depend on the runtime too (offeredAlgorithms).
 * Asking for a level of trust needs the attestation, so any trust but `any` asks for it directly
 * even when the conveyance setting is `none`.
 */
export function registrationOptionsFor(policy: AuthenticatorPolicy) {
  return {
    attestationType: policy.trust !== 'any' && policy.attestation === 'none' ? 'direct' as const : policy.attestation,
    authenticatorSelection: { residentKey: policy.residentKey, userVerification: policy.userVerification },
    ...(policy.attachment === 'any' ? {} : { preferredAuthenticatorType: PREFERRED_TYPE[policy.attachment] }),
  };
}

/** WebAuthn hints (L3 §5.8.7) with their attachment: client-device, security-key, hybrid. */
const PREFERRED_TYPE = { platform: 'localDevice', 'cross-platform': 'securityKey', hybrid: 'remoteDevice' } as const;
