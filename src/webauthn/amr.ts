/**
 * Authentication method references (RFC 8176) and the context class (OpenID EAP ACR Values 1.0)
 * a passkey sign-in earns (docs/acr-amr.md has the table):
 * - `hwk` when the key is device-bound (BE=0: it cannot leave the authenticator), `swk` when it is
 *   backup-eligible (a synced passkey: a copy of the key exists outside the device);
 * - `user` when the authenticator verified the user (PIN or biometric), not just their presence;
 * - `mfa` when both held: possession of the key and the user's verification;
 * - `mca` (added by the cross-device flow) when a second device on another channel took part.
 * - acr `phr`: WebAuthn is phishing-resistant because the signature is bound to our origin;
 *   `phrh`: and the key is device-bound in hardware the FIDO metadata of an attested model vouches for.
 */
export const ACR_PHISHING_RESISTANT = 'phr';
export const ACR_PHISHING_RESISTANT_HARDWARE = 'phrh';
/** Strongest first: a phrh sign-in also satisfies a request for phr. */
export const ACR_VALUES = [ACR_PHISHING_RESISTANT_HARDWARE, ACR_PHISHING_RESISTANT] as const;

export interface AuthenticationFacts {
  deviceType: 'singleDevice' | 'multiDevice';
  userVerified: boolean;
}

export function amrFor(facts: AuthenticationFacts): string[] {
  const amr = [facts.deviceType === 'singleDevice' ? 'hwk' : 'swk'];
  if (facts.userVerified) amr.push('user', 'mfa');
  return amr;
}

/** MDS keyProtection values (FIDO Registry §3.2) that keep the private key out of software's reach. */
const HARDWARE_KEY_PROTECTION = new Set(['hardware', 'secure_element', 'tee']);

export interface KeyFacts {
  deviceType: 'singleDevice' | 'multiDevice';
  /** The attestation was verified to a trusted root when the passkey was registered. */
  attested: boolean;
  /** The model's keyProtection from the FIDO metadata (undefined: no metadata for it). */
  keyProtection: readonly string[] | undefined;
}

/** The acr values a passkey sign-in with this key satisfies, strongest first. */
export function acrsFor(key: KeyFacts): string[] {
  const hardware = key.attested && key.deviceType === 'singleDevice' && (key.keyProtection ?? []).some((p) => HARDWARE_KEY_PROTECTION.has(p));
  return hardware ? [...ACR_VALUES] : [ACR_PHISHING_RESISTANT];
}

/**
 * The acr to claim: the first requested value this sign-in satisfies (in the requester's order), or
 * the strongest it satisfies when nothing was requested; undefined when a request cannot be met.
 */
export function chooseAcr(satisfied: readonly string[], requested: readonly string[]): string | undefined {
  if (requested.length === 0) return satisfied[0];
  return requested.find((value) => satisfied.includes(value));
}
