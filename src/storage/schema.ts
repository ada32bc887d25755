/**
 * Table shapes as Kysely sees them. Portable types only (see research/stack.md §3): text, integer,
 * bigint epoch milliseconds, bytea, JSON kept as text. Booleans are stored as 0/1.
 */
export interface TenantsTable {
  id: string;
  name: string;
  cookie_keys: string; // sealed (src/secrets) JSON array of secrets signing oidc-provider's cookies
  created_at: number;
  /** Where cross-device requests are announced for native apps (FCM/APNs gateways); optional. */
  webhook_url: string | null;
  webhook_secret: string | null; // sealed
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface CrossDeviceRequestsTable {
  id: string;
  tenant_id: string;
  interaction_uid: string;
  browser_binding: string; // SHA-256 of the secret cookie the desktop browser holds
  kind: string; // qr | push
  user_id: string | null;
  number: number;
  choices: string; // JSON array of three numbers
  status: string; // pending | approved | denied | failed | cancelled | completed (expiry is by time)
  number_confirmed: number;
  client_name: string;
  desktop_user_agent: string;
  desktop_ip: string;
  approved_user_id: string | null;
  approved_amr: string | null; // JSON
  created_at: number;
  expires_at: number;
  resolved_at: number | null;
  failure_reason: string | null; // wrong_number | no_passkey_on_phone, when status is failed
}

export interface CrossDeviceEventsTable {
  id: string;
  tenant_id: string;
  request_id: string;
  user_id: string | null;
  device_id: string | null;
  type: string;
  detail: string;
  at: number;
}

export interface PassportDevicesTable {
  tenant_id: string;
  id: string;
  user_id: string;
  name: string;
  credential_id: string;
  token_hash: string;
  push_subscription: string | null; // JSON PushSubscription
  created_at: number;
  last_seen_at: number | null;
}

export interface PassportEnrolmentTokensTable {
  token_hash: string;
  tenant_id: string;
  user_id: string;
  expires_at: number;
  used_at: number | null;
}

export interface ClientsTable {
  tenant_id: string;
  client_id: string;
  /** SHA-256 of the secret (client_secret_basic/post), sealed secret (client_secret_jwt), '' (private_key_jwt). */
  client_secret: string;
  name: string;
  redirect_uris: string; // JSON array
  post_logout_redirect_uris: string; // JSON array
  require_pkce: number;
  created_at: number;
  auth_method: string; // token_endpoint_auth_method
  jwks: string | null; // JSON public JWKS (private_key_jwt)
  jwks_uri: string | null; // (private_key_jwt)
}

export interface SigningKeysTable {
  tenant_id: string;
  kid: string;
  alg: string;
  private_jwk: string; // sealed JSON
  created_at: number;
  /** The key is published from created_at and signs from activates_at. */
  activates_at: number;
}

export interface UsersTable {
  tenant_id: string;
  id: string;
  email: string;
  email_verified: number;
  display_name: string;
  created_at: number;
}

export interface CredentialsTable {
  tenant_id: string;
  id: string; // base64url credential id
  user_id: string;
  public_key: Uint8Array; // COSE
  sign_count: number;
  transports: string; // JSON array
  aaguid: string;
  device_type: string; // singleDevice | multiDevice
  backed_up: number;
  attestation_format: string;
  user_verified: number;
  created_at: number;
  last_used_at: number | null;
  name: string | null; // the person's name for it; null: the provider's name
}

export interface ChallengesTable {
  id: string;
  tenant_id: string;
  interaction_uid: string;
  purpose: string; // registration | authentication
  challenge: string;
  payload: string; // JSON: data the ceremony needs at verification time
  expires_at: number;
  consumed_at: number | null;
}

export interface OidcPayloadsTable {
  tenant_id: string;
  model: string;
  id: string;
  payload: string; // JSON
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface RateLimitsTable {
  key: string; // purpose + SHA-256 of what is limited (an IP network, an account seen from a network)
  window_start: number;
  hits: number;
}

export interface AccountSessionsTable {
  id_hash: string; // SHA-256 of the random id in the cookie
  tenant_id: string;
  user_id: string;
  credential_id: string; // the passkey that opened the session
  expires_at: number;
}

export interface OidcSessionCredentialsTable {
  tenant_id: string;
  session_uid: string;
  credential_id: string; // the passkey that signed the session in
  expires_at: number;
}

export interface MailOutboxTable {
  id: string; // also the mail's Message-ID (<id@public host>), so a resend is recognisable
  tenant_id: string;
  recipient: string;
  template: string;
  data: string; // sealed JSON of the template's data (it holds codes); emptied once sent
  status: string; // queued | sent | failed
  attempts: number;
  next_attempt_at: number;
  /** A worker that claimed the row owns it until then; after that (the worker died) another may. */
  claimed_until: number | null;
  claim_token: string | null;
  last_error: string | null; // the SMTP answer or network error, never credentials
  created_at: number;
  sent_at: number | null;
}

export interface Schema {
  tenants: TenantsTable;
  clients: ClientsTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  credentials: CredentialsTable;
  webauthn_challenges: ChallengesTable;
  oidc_payloads: OidcPayloadsTable;
  settings: SettingsTable;
  crossdevice_requests: CrossDeviceRequestsTable;
  crossdevice_events: CrossDeviceEventsTable;
  passport_devices: PassportDevicesTable;
  passport_enrolment_tokens: PassportEnrolmentTokensTable;
  rate_limits: RateLimitsTable;
  account_sessions: AccountSessionsTable;
  oidc_session_credentials: OidcSessionCredentialsTable;
  mail_outbox: MailOutboxTable;
}
