import { forbidden } from '../../errors.js';
import { atLeast, type AuthenticatorPolicy } from './authenticator-policy.js';
import type { AttestationFacts } from './attestation-facts.js';

export interface NewPasskey {
  aaguid: string;
  deviceType: 'singleDevice' | 'multiDevice';
  userVerified: boolean;
}

/**
 * Whether a verified new passkey meets the tenant's policy. A refusal says, in the person's words,
 * why this passkey cannot be used and what to use instead; `model` is its name from the FIDO
 * metadata, when known.
 */
export function checkRegistration(policy: AuthenticatorPolicy, passkey: NewPasskey, facts: AttestationFacts, model?: string): void {
  const thisOne = model ? `this passkey (${model})` : 'this passkey';
  if (policy.aaguidDeny.includes(passkey.aaguid)) {
    throw forbidden(`This organisation does not accept ${thisOne}. Use another security key or passkey app.`, 'authenticator_denied');
  }
  if (policy.aaguidAllow.length > 0 && !policy.aaguidAllow.includes(passkey.aaguid)) {
    throw forbidden(`This organisation accepts only the security keys and passkey apps it has approved, and ${thisOne} is not one of them. `
      + 'Use a security key your organisation gave you, or ask its IT team which ones are approved.', 'authenticator_not_allowed');
  }
  if (policy.syncedPasskeys === 'device-bound-only' && passkey.deviceType === 'multiDevice') {
    throw forbidden('This organisation accepts only passkeys that stay on one device, and this one would be synced to your other devices '
      + '(by a password manager, iCloud Keychain or Google Password Manager). Use a security key such as a YubiKey, '
      + 'or a passkey that stays on this device, such as Windows Hello.', 'synced_passkey_refused');
  }
  if (policy.userVerification === 'required' && !passkey.userVerified) {
    throw forbidden(USER_VERIFICATION_MISSING, 'user_verification_required');
  }
  if (policy.trust !== 'any' && !facts.verified) {
    throw forbidden(`This organisation accepts only security keys that prove their make and model, and ${thisOne} did not. `
      + 'Use a FIDO Certified security key; if your browser asked whether to share the make and model of your key, allow it.', 'attestation_required');
  }
  if (policy.trust === 'certified' && !atLeast(facts.certificationLevel, policy.minimumCertification)) {
    const has = facts.certificationLevel ? `is certified at level ${facts.certificationLevel}` : 'has no FIDO certification that we know of';
    throw forbidden(`This organisation accepts only security keys certified by the FIDO Alliance at level ${policy.minimumCertification} or higher, `
      + `and ${thisOne} ${has}. Use a security key certified at that level; your IT team can tell you which.`, 'certification_required');
  }
}

export const USER_VERIFICATION_MISSING = 'This organisation asks your passkey to check that it is you, with a PIN, fingerprint or face, '
  + 'and this one did not. Set up a PIN or biometric for it, or use another passkey.';
