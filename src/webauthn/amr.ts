/**
 * Authentication method references (RFC 8176) and the context class (OpenID EAP ACR Values 1.0)
 * a passkey sign-in earns:
 * - `hwk` when the key is device-bound (cannot leave the authenticator), `swk` when it is a synced
 *   passkey (backup-eligible, so a copy of the key exists outside the device);
 * - `user` when the authenticator verified the user (PIN or biometric), not just their presence;
 * - acr `phr`: WebAuthn is phishing-resistant because the signature is bound to our origin.
 */
export const ACR_PHISHING_RESISTANT = 'phr';

export interface AuthenticationFacts {
  deviceType: 'singleDevice' | 'multiDevice';
  userVerified: boolean;
}

export function amrFor(facts: AuthenticationFacts): string[] {
  const amr = [facts.deviceType === 'singleDevice' ? 'hwk' : 'swk'];
  if (facts.userVerified) amr.push('user');
  return amr;
}
