/** What the error code of a refused sign-in, sign-up or recovery means, for the console's dashboard. */
const REASONS: Record<string, string> = {
  assertion_invalid: 'The passkey\'s answer did not verify (wrong site, tampered or replayed)',
  unknown_credential: 'A passkey this tenant does not know (removed, or made for another site)',
  unknown_account: 'The passkey\'s account no longer exists',
  account_disabled: 'The account is disabled',
  challenge_invalid: 'The sign-in attempt had expired or was used already',
  credential_mismatch: 'The passkey belongs to another account than the address typed',
  user_verification_required: 'The device did not verify the person (no PIN or biometric)',
  passkey_possibly_cloned: 'The passkey\'s counter went back: it may have been copied',
  passkey_in_use: 'The same passkey was used in two windows at once',
  authenticator_denied: 'The authenticator is not allowed by the tenant\'s policy or the FIDO metadata',
  registration_invalid: 'The new passkey did not verify',
  credential_exists: 'The passkey was registered already',
  account_exists: 'An account with this address exists already',
  email_not_verified: 'The address was not confirmed first',
  rate_limited: 'Too many attempts from one network or for one address',
  interaction_expired: 'The sign-in page had expired',
  recovery_code_invalid: 'A wrong or expired recovery code',
  recovery_code_spent: 'A recovery code that was used already',
  recovery_link_invalid: 'An administrator\'s recovery link that had expired or was used',
  email_recovery_off: 'Recovery by e-mail is turned off for this tenant',
  acr_unmet: 'The passkey could not meet the assurance the application asked for',
  invalid_request: 'A malformed request',
  cross_origin_request: 'A request from another site (refused)',
};

export function describeReason(code: string): string {
  return REASONS[code] ?? 'Another reason';
}
