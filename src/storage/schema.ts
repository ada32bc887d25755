/**
 * Table shapes as Kysely sees them. Portable types only (see research/stack.md §3): text, integer,
 * bigint epoch milliseconds, bytea, JSON kept as text. Booleans are stored as 0/1.
 */
export interface TenantsTable {
  id: string;
  name: string;
  cookie_keys: string; // JSON array of secrets signing oidc-provider's cookies
  created_at: number;
}

export interface ClientsTable {
  tenant_id: string;
  client_id: string;
  client_secret: string;
  name: string;
  redirect_uris: string; // JSON array
  post_logout_redirect_uris: string; // JSON array
  require_pkce: number;
  created_at: number;
}

export interface SigningKeysTable {
  tenant_id: string;
  kid: string;
  alg: string;
  private_jwk: string; // JSON
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

export interface Schema {
  tenants: TenantsTable;
  clients: ClientsTable;
  signing_keys: SigningKeysTable;
  users: UsersTable;
  credentials: CredentialsTable;
  webauthn_challenges: ChallengesTable;
  oidc_payloads: OidcPayloadsTable;
}
