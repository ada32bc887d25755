import type { UafTables } from '../uaf/repository.js';
import type { AuditLogTable } from '../audit/audit-table.js';
import type { AdminCredentialsTable, AdminInvitationsTable, AdminSessionsTable, AdminsTable, PendingTenantsTable } from '../admin/admin-tables.js';

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
  /** 1 when people may get a recovery code by e-mail (0: recovery codes and the administrator only). */
  email_recovery: number;
  email_verification: string; // required | off
  brand_colour: string | null; // #rrggbb
  logo: string | null; // base64 of a PNG, JPEG or WebP (src/tenants/branding.ts)
  logo_type: string | null;
  logo_version: string | null;
  authenticator_policy: string | null; // JSON AuthenticatorPolicy (src/webauthn/policy); null: defaults
  related_origins: string; // JSON array of extra https origins for WebAuthn (Related Origin Requests)
  signup: string; // open | invitation
}

export interface ApiTokensTable {
  id: string;
  tenant_id: string | null; // null: an operator token, for every tenant
  name: string;
  token_hash: string; // SHA-256 (base64url) of the token
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface ClaimDefinitionsTable {
  tenant_id: string;
  name: string;
  type: string; // string | number | boolean | string_array
  created_at: number;
}

export interface GroupsTable {
  tenant_id: string;
  id: string;
  name: string;
  claims: string; // JSON object of custom claim values
  created_at: number;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  user_id: string;
}

export interface InvitationsTable {
  id: string;
  tenant_id: string;
  token_hash: string; // SHA-256 (base64url) of the token in the invitation link
  email: string | null; // only this address may use it, when set
  groups: string; // JSON array of group ids the new account joins
  max_uses: number;
  uses: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
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
  backchannel_logout_uri: string | null; // OIDC Back-Channel Logout 1.0
  allowed_groups: string; // JSON array of group ids; [] = every user may sign in
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
  /** Set when the account was closed (an unverified account replaced by its address's proven owner). */
  disabled_at: number | null;
  custom_claims: string; // JSON object of custom claim values
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
  mds_flag: string | null; // security status the FIDO metadata reports for its AAGUID (src/webauthn/metadata)
  u2f_app_id: string | null; // the U2F AppID an imported credential signs under (src/u2f)
  possibly_cloned: number; // 1 once its sign count failed to move forward
  attestation_trusted: number; // 1 when its attestation was verified to a trusted root
  // What its attestation proved at registration (src/webauthn/attestation); null for rows made before 0021.
  attestation_type: string | null; // none | self | basic | attca | anonca
  attestation_root_source: string | null; // mds | vendor | tenant: where the root its chain reached came from
  attestation_root_subject: string | null;
  attestation_root_fingerprint: string | null; // SHA-256, colon-separated hex
  attestation_note: string | null; // why it is not verified, when it is not
  certification_level: string | null; // FIDO certification of its model (L1 … L3plus) in the metadata at registration
  authenticator_name: string | null; // its model's name from the FIDO metadata, else the bundled AAGUID list
  authenticator_icon: string | null; // a data: URL from the FIDO metadata
}

export interface TenantAttestationRootsTable {
  tenant_id: string;
  fingerprint: string; // SHA-256, colon-separated hex
  subject: string;
  pem: string;
  not_after: number;
  added_at: number;
}

export interface CredentialEventsTable {
  id: string;
  tenant_id: string;
  credential_id: string;
  user_id: string;
  type: string; // counter_regressed
  detail: string; // JSON
  at: number;
}

export interface U2fAppsTable {
  tenant_id: string;
  app_id: string; // https URL serving the trusted facets
  facets: string; // JSON array of facet ids
}

export interface MdsBlobTable {
  id: string; // 'fido'
  no: number;
  next_update: string; // YYYY-MM-DD
  loaded_at: number;
  source: string; // file name or URL it was loaded from
  payload: string; // the verified BLOB payload, JSON
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
  /** The client a code, token, grant, pushed request or interaction belongs to (null for sessions: they name theirs in the payload). */
  client_id: string | null;
}

export interface RateLimitsTable {
  key: string; // purpose + SHA-256 of what is limited (an IP network, an account seen from a network)
  window_start: number;
  hits: number;
  window_ms: number; // the window's length: the row may be purged once it is over
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

export interface RecoveryRequestsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  kind: string; // email (a code sent by mail) | link (an administrator's sign-in link)
  binding: string | null; // email: the sign-in page (interaction uid) the code was asked on
  secret_hash: string; // keyed hash (HMAC) of the code or link token
  attempts: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface RecoveryCodesTable {
  tenant_id: string;
  user_id: string;
  code_hash: string; // keyed hash (HMAC) of one of the person's ten recovery codes
  created_at: number;
  used_at: number | null;
}

export interface RecoveriesTable {
  id: string;
  tenant_id: string;
  user_id: string;
  method: string; // email_code | recovery_code | admin_link
  binding: string; // interaction:<uid> or browser:<SHA-256 of the recovery cookie>
  ip: string;
  user_agent: string;
  started_at: number;
  expires_at: number;
  credential_id: string | null; // the new passkey, once added
  finished_at: number | null;
}

export interface EmailVerificationsTable {
  id: string;
  tenant_id: string;
  purpose: string; // signup | account
  binding: string; // the sign-up's interaction uid, or `user:<id>` for the account page
  user_id: string | null;
  email: string;
  display_name: string | null;
  code_hash: string; // HMAC-SHA-256 under a key derived from the server key, over id and code
  link_hash: string; // SHA-256 of the link's random token
  attempts: number;
  expires_at: number;
  verified_at: number | null;
  consumed_at: number | null;
  created_at: number;
}

export interface UserDevicesTable {
  tenant_id: string;
  user_id: string;
  device_key: string; // SHA-256 of "browser name|system"
  last_seen_at: number;
}

export interface Schema {
  tenants: TenantsTable;
  clients: ClientsTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  credentials: CredentialsTable;
  tenant_attestation_roots: TenantAttestationRootsTable;
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
  recovery_requests: RecoveryRequestsTable;
  recovery_codes: RecoveryCodesTable;
  recoveries: RecoveriesTable;
  email_verifications: EmailVerificationsTable;
  user_devices: UserDevicesTable;
  mds_blob: MdsBlobTable;
  u2f_apps: U2fAppsTable;
  credential_events: CredentialEventsTable;
  audit_log: AuditLogTable;
  admins: AdminsTable;
  admin_credentials: AdminCredentialsTable;
  admin_sessions: AdminSessionsTable;
  admin_invitations: AdminInvitationsTable;
  pending_tenants: PendingTenantsTable;
  api_tokens: ApiTokensTable;
  claim_definitions: ClaimDefinitionsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  invitations: InvitationsTable;
  uaf_challenges: UafTables['uaf_challenges'];
  uaf_registrations: UafTables['uaf_registrations'];
}
