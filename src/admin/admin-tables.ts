import type { Kysely, Migration } from 'kysely';

/**
 * The console's tables. Administrators are not users of any tenant's relying parties: they have their
 * own accounts, passkeys and sessions, and a tenant's users never see them.
 */
export interface AdminsTable {
  id: string;
  email: string;
  /** The tenant administered, or OPERATOR_SCOPE ('*') for an operator administrator (every tenant). */
  tenant_id: string;
  created_at: number;
}

export interface AdminCredentialsTable {
  id: string; // credential id, base64url
  admin_id: string;
  public_key: Uint8Array;
  sign_count: number;
  transports: string; // JSON array
  aaguid: string;
  device_type: string;
  backed_up: number;
  created_at: number;
  last_used_at: number | null;
}

export interface AdminSessionsTable {
  id_hash: string; // SHA-256 of the cookie's random id
  admin_id: string;
  credential_id: string;
  created_at: number;
  expires_at: number;
}

/**
 * One-time links. kind: 'operator' (sesame admin create), 'tenant-admin' (invited by an administrator
 * of the tenant), 'new-tenant' (the verification link of an onboarding: enrolling creates the
 * tenant), 'organisation' (sesame tenant invite: opens the onboarding form when ONBOARDING=invite).
 */
export interface AdminInvitationsTable {
  id: string;
  token_hash: string; // SHA-256 of the 256-bit token in the link
  kind: string;
  email: string;
  tenant_id: string | null;
  /** new-tenant: the organisation's name, which becomes the tenant's display name. */
  tenant_name: string | null;
  /** Who asked for it: 'cli', 'onboarding' or an administrator's address. */
  invited_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** A tenant id held for an onboarding until its verification link is used or it expires (24 hours). */
export interface PendingTenantsTable {
  id: string;
  name: string;
  admin_email: string;
  invitation_id: string;
  created_at: number;
  expires_at: number;
}

export const adminConsoleMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('admins')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('admins_email_unique', ['tenant_id', 'email'])
      .execute();
    await db.schema.createTable('admin_credentials')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('admin_id', 'text', (c) => c.notNull().references('admins.id').onDelete('cascade'))
      .addColumn('public_key', 'bytea', (c) => c.notNull())
      .addColumn('sign_count', 'bigint', (c) => c.notNull())
      .addColumn('transports', 'text', (c) => c.notNull())
      .addColumn('aaguid', 'text', (c) => c.notNull())
      .addColumn('device_type', 'text', (c) => c.notNull())
      .addColumn('backed_up', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('admin_credentials_by_admin').on('admin_credentials').column('admin_id').execute();
    await db.schema.createTable('admin_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('admin_id', 'text', (c) => c.notNull().references('admins.id').onDelete('cascade'))
      .addColumn('credential_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('admin_sessions_by_admin').on('admin_sessions').column('admin_id').execute();
    await db.schema.createTable('admin_invitations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text')
      .addColumn('tenant_name', 'text')
      .addColumn('invited_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('admin_invitations_by_tenant').on('admin_invitations').columns(['tenant_id', 'kind']).execute();
    await db.schema.createTable('pending_tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('admin_email', 'text', (c) => c.notNull())
      .addColumn('invitation_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/**
 * Each rate-limit row keeps the length of its window, so that the housekeeping purge removes a row
 * only once its own window is over (onboarding counts per hour, sign-ins per minute).
 */
export const rateLimitWindowsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('rate_limits').addColumn('window_ms', 'bigint', (c) => c.notNull().defaultTo(60_000)).execute();
  },
};
