import { createHash } from 'node:crypto';
import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import type { Schema } from './schema.js';
import { isSealed, type SecretBox } from '../secrets/secret-box.js';
import { hashClientSecret, isClientSecretHash } from '../secrets/client-secret.js';
import { sealedColumn } from '../secrets/sealed-columns.js';
import { auditLogMigration } from '../audit/audit-table.js';
import { adminConsoleMigration, rateLimitWindowsMigration } from '../admin/admin-tables.js';

/** What migrations that convert data (not only SQL) need from the running configuration. */
export interface MigrationContext {
  secrets: SecretBox;
}

/** One migration set for SQLite and PostgreSQL. Append new steps; never edit a released one. */
export const buildMigrations = (context: MigrationContext): Record<string, Migration> => ({
  '0001_foundation': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('cookie_keys', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema.createTable('clients')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_secret', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
        .addColumn('require_pkce', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('clients_pk', ['tenant_id', 'client_id'])
        .execute();

      await db.schema.createTable('signing_keys')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('kid', 'text', (c) => c.notNull())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activates_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('signing_keys_pk', ['tenant_id', 'kid'])
        .execute();

      await db.schema.createTable('users')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_verified', 'integer', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('users_email_unique', ['tenant_id', 'email'])
        .execute();

      await db.schema.createTable('credentials')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('public_key', 'bytea', (c) => c.notNull())
        .addColumn('sign_count', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('aaguid', 'text', (c) => c.notNull())
        .addColumn('device_type', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('attestation_format', 'text', (c) => c.notNull())
        .addColumn('user_verified', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addPrimaryKeyConstraint('credentials_pk', ['tenant_id', 'id'])
        .addForeignKeyConstraint('credentials_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('credentials_by_user').on('credentials').columns(['tenant_id', 'user_id']).execute();

      await db.schema.createTable('webauthn_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('interaction_uid', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .execute();
      await db.schema.createIndex('webauthn_challenges_expiry').on('webauthn_challenges').column('expires_at').execute();

      await db.schema.createTable('oidc_payloads')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('user_code', 'text')
        .addColumn('uid', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addPrimaryKeyConstraint('oidc_payloads_pk', ['tenant_id', 'model', 'id'])
        .execute();
      await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').columns(['tenant_id', 'grant_id']).execute();
      await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').columns(['tenant_id', 'model', 'uid']).execute();
      await db.schema.createIndex('oidc_payloads_expiry').on('oidc_payloads').column('expires_at').execute();
    },
  },
  '0002_crossdevice': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('tenants').addColumn('webhook_url', 'text').execute();
      await db.schema.alterTable('tenants').addColumn('webhook_secret', 'text').execute();

      await db.schema.createTable('settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

      await db.schema.createTable('crossdevice_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('interaction_uid', 'text', (c) => c.notNull())
        .addColumn('browser_binding', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('choices', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('number_confirmed', 'integer', (c) => c.notNull())
        .addColumn('client_name', 'text', (c) => c.notNull())
        .addColumn('desktop_user_agent', 'text', (c) => c.notNull())
        .addColumn('desktop_ip', 'text', (c) => c.notNull())
        .addColumn('approved_user_id', 'text')
        .addColumn('approved_amr', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .execute();
      await db.schema.createIndex('crossdevice_requests_user').on('crossdevice_requests').columns(['tenant_id', 'user_id', 'status']).execute();

      await db.schema.createTable('crossdevice_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('device_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crossdevice_events_request').on('crossdevice_events').column('request_id').execute();
      await db.schema.createIndex('crossdevice_events_user_type').on('crossdevice_events').columns(['tenant_id', 'user_id', 'type', 'at']).execute();

      await db.schema.createTable('passport_devices')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('push_subscription', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint')
        .addPrimaryKeyConstraint('passport_devices_pk', ['tenant_id', 'id'])
        .addForeignKeyConstraint('passport_devices_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('passport_devices_user').on('passport_devices').columns(['tenant_id', 'user_id']).execute();
      await db.schema.createIndex('passport_devices_token').on('passport_devices').column('token_hash').unique().execute();

      await db.schema.createTable('passport_enrolment_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
    },
  },
  '0003_rate_limits': {
    async up(db: Kysely<any>) {
      // One row per limited key (an IP network, or an account seen from a network), counted in fixed windows.
      await db.schema.createTable('rate_limits')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('hits', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  '0004_sessions': {
    async up(db: Kysely<any>) {
      // The account page's sessions, on the server so that signing out (or removing the passkey that
      // opened one) ends them. The cookie holds a random id; only its SHA-256 is stored.
      await db.schema.createTable('account_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('account_sessions_credential').on('account_sessions').columns(['tenant_id', 'credential_id']).execute();
      // Which passkey signed in each OIDC session (by the session's uid, which is not its cookie value),
      // so that removing the passkey ends the sessions and refresh tokens it produced.
      await db.schema.createTable('oidc_session_credentials')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('session_uid', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('oidc_session_credentials_pk', ['tenant_id', 'session_uid'])
        .execute();
      await db.schema.createIndex('oidc_session_credentials_credential').on('oidc_session_credentials').columns(['tenant_id', 'credential_id']).execute();
    },
  },
  '0005_client_auth_methods': {
    async up(db: Kysely<any>) {
      // Clients registered before could use client_secret_post or client_secret_basic (oidc-provider accepts both).
      await db.schema.alterTable('clients').addColumn('auth_method', 'text', (c) => c.notNull().defaultTo('client_secret_post')).execute();
      await db.schema.alterTable('clients').addColumn('jwks', 'text').execute();
      await db.schema.alterTable('clients').addColumn('jwks_uri', 'text').execute();
    },
  },
  '0006_secrets_at_rest': {
    // Converts what older versions stored in the clear. Each value is checked first, so that a run
    // interrupted on SQLite (no transactional DDL there) simply continues where it stopped.
    async up(db: Kysely<any>) {
      const { secrets } = context;
      for (const tenant of await db.selectFrom('tenants').select(['id', 'cookie_keys', 'webhook_secret']).execute()) {
        const set: Record<string, string> = {};
        if (!isSealed(tenant.cookie_keys)) set.cookie_keys = secrets.seal(tenant.cookie_keys, sealedColumn.cookieKeys(tenant.id));
        if (tenant.webhook_secret !== null && !isSealed(tenant.webhook_secret)) {
          set.webhook_secret = secrets.seal(tenant.webhook_secret, sealedColumn.webhookSecret(tenant.id));
        }
        if (Object.keys(set).length) await db.updateTable('tenants').set(set).where('id', '=', tenant.id).execute();
      }
      for (const client of await db.selectFrom('clients').select(['tenant_id', 'client_id', 'client_secret']).execute()) {
        if (isClientSecretHash(client.client_secret)) continue;
        await db.updateTable('clients').set({ client_secret: hashClientSecret(client.client_secret) })
          .where('tenant_id', '=', client.tenant_id).where('client_id', '=', client.client_id).execute();
      }
      for (const key of await db.selectFrom('signing_keys').select(['tenant_id', 'kid', 'private_jwk']).execute()) {
        if (isSealed(key.private_jwk)) continue;
        await db.updateTable('signing_keys').set({ private_jwk: secrets.seal(key.private_jwk, sealedColumn.privateJwk(key.tenant_id, key.kid)) })
          .where('tenant_id', '=', key.tenant_id).where('kid', '=', key.kid).execute();
      }
      const vapid = await db.selectFrom('settings').select('value').where('name', '=', 'vapid_keys').executeTakeFirst();
      if (vapid && !isSealed(vapid.value)) {
        await db.updateTable('settings').set({ value: secrets.seal(vapid.value, sealedColumn.setting('vapid_keys')) }).where('name', '=', 'vapid_keys').execute();
      }
    },
  },
  '0007_hash_oidc_ids': {
    /**
     * oidc-provider's ids (codes, tokens, sessions) are bearer secrets: they are now stored as
     * SHA-256 (base64url), and payloads without their `jti`. The hash is written out here rather
     * than imported, so that this step stays what it was whatever the adapter becomes.
     */
    async up(db: Kysely<any>) {
      const rows = await db.selectFrom('oidc_payloads').select(['tenant_id', 'model', 'id', 'payload']).execute();
      for (const row of rows) {
        const { jti: _secret, ...payload } = JSON.parse(row.payload);
        await db.updateTable('oidc_payloads')
          .set({ id: createHash('sha256').update(row.id).digest('base64url'), payload: JSON.stringify(payload) })
          .where('tenant_id', '=', row.tenant_id).where('model', '=', row.model).where('id', '=', row.id)
          .execute();
      }
    },
  },
  '0008_readiness_probe': {
    async up(db: Kysely<any>) {
      // One row per node, rewritten by /readyz to prove the database accepts writes.
      await db.schema.createTable('readiness_probe')
        .addColumn('node', 'text', (c) => c.primaryKey())
        .addColumn('checked_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0009_mail_outbox': {
    async up(db: Kysely<any>) {
      // Mails wait here until the worker has handed them to SMTP: a request never waits on SMTP, and
      // a mail survives SMTP being down or the process restarting (src/mail/mail-worker.ts).
      await db.schema.createTable('mail_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('claimed_until', 'bigint')
        .addColumn('claim_token', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('sent_at', 'bigint')
        .execute();
      await db.schema.createIndex('mail_outbox_due').on('mail_outbox').columns(['status', 'next_attempt_at']).execute();
    },
  },
  '0010_passkey_names': {
    async up(db: Kysely<any>) {
      // The name a person gave a passkey. Null means "the provider's name", looked up when shown,
      // so a passkey made before the catalogue knew its provider gets the name once it does.
      await db.schema.alterTable('credentials').addColumn('name', 'text').execute();
    },
  },
  '0011_email_verification': {
    async up(db: Kysely<any>) {
      // Per tenant: 'required' (sign-up proves the address before the passkey is made) or 'off'.
      await db.schema.alterTable('tenants').addColumn('email_verification', 'text', (c) => c.notNull().defaultTo('required')).execute();
      // An account whose address was never proved is closed, not taken over, when the address's owner
      // proves it in a new sign-up (docs/design-decisions.md): its sign-ins stop, its row stays for the record.
      await db.schema.alterTable('users').addColumn('disabled_at', 'bigint').execute();
      // One code sent to an address: for a sign-up (bound to its interaction) or from the account page
      // (bound to the user). The code is kept as an HMAC under a server key, the link token as SHA-256.
      await db.schema.createTable('email_verifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('binding', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text')
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('link_hash', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('verified_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('email_verifications_expiry').on('email_verifications').column('expires_at').execute();
      // Browsers (name + system) each user signed in from, for "new sign-in" mails.
      await db.schema.createTable('user_devices')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_key', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_devices_pk', ['tenant_id', 'user_id', 'device_key'])
        .execute();
    },
  },
  '0012_recovery': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('tenants').addColumn('email_recovery', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      // One-time ways in: an e-mailed code (bound to the sign-in page that asked for it) or an administrator's link.
      await db.schema.createTable('recovery_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('binding', 'text')
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('recovery_requests_lookup').on('recovery_requests').columns(['tenant_id', 'user_id', 'kind']).execute();
      await db.schema.createIndex('recovery_requests_secret').on('recovery_requests').columns(['secret_hash']).execute();
      // The ten codes a person keeps on paper.
      await db.schema.createTable('recovery_codes')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addPrimaryKeyConstraint('recovery_codes_pk', ['tenant_id', 'user_id', 'code_hash'])
        .execute();
      // Each recovery, from the redeemed code or link to the new passkey and the finished sign-in: the record of it.
      await db.schema.createTable('recoveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('binding', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('credential_id', 'text')
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('recoveries_binding').on('recoveries').columns(['tenant_id', 'binding']).execute();
    },
  },
  '0013_passport_ux': {
    async up(db: Kysely<any>) {
      // Why a request failed ('wrong_number', 'no_passkey_on_phone'): the desktop says what to do next by it.
      await db.schema.alterTable('crossdevice_requests').addColumn('failure_reason', 'text').execute();
    },
  },
  '0014_branding': {
    async up(db: Kysely<any>) {
      // A tenant's primary colour (#rrggbb) and logo (base64 PNG/JPEG/WebP, served by Sesame; the
      // version is in its URL so that it can be cached for long).
      await db.schema.alterTable('tenants').addColumn('brand_colour', 'text').execute();
      await db.schema.alterTable('tenants').addColumn('logo', 'text').execute();
      await db.schema.alterTable('tenants').addColumn('logo_type', 'text').execute();
      await db.schema.alterTable('tenants').addColumn('logo_version', 'text').execute();
      // Clients named after the B2C or Entra tenant by an earlier `client create` showed that name to
      // end users ("Sign in to Azure AD B2C (contoso)"): they get the tenant's display name.
      await sql`update clients set name = (select t.name from tenants t where t.id = clients.tenant_id)
        where name like 'Azure AD B2C (%' or name like 'Entra External ID (%'`.execute(db);
    },
  },
  '0015_mds': {
    async up(db: Kysely<any>) {
      // The FIDO metadata BLOB in force (one row, id 'fido'): its verified payload, kept whole for every node to read.
      await db.schema.createTable('mds_blob')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('no', 'bigint', (c) => c.notNull())
        .addColumn('next_update', 'text', (c) => c.notNull())
        .addColumn('loaded_at', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
      // The security status the BLOB reports for a credential's AAGUID (REVOKED, USER_VERIFICATION_BYPASS …), or null.
      await db.schema.alterTable('credentials').addColumn('mds_flag', 'text').execute();
      await db.schema.createIndex('credentials_by_aaguid').on('credentials').column('aaguid').execute();
    },
  },
  '0017_authenticator_policy': {
    async up(db: Kysely<any>) {
      // JSON of the tenant's AuthenticatorPolicy (src/webauthn/policy); null: the defaults.
      await db.schema.alterTable('tenants').addColumn('authenticator_policy', 'text').execute();
      // JSON array of https origins besides PUBLIC_URL's whose WebAuthn ceremonies the tenant accepts (Related Origin Requests).
      await db.schema.alterTable('tenants').addColumn('related_origins', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      // 1 once a sign count failed to move forward: the key may have been copied.
      await db.schema.alterTable('credentials').addColumn('possibly_cloned', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // 1 when its attestation was verified to a trusted root at registration (phrh needs it).
      await db.schema.alterTable('credentials').addColumn('attestation_trusted', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      // Security events about a passkey (a counter that went back …), until Sesame has an audit log.
      await db.schema.createTable('credential_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('credential_events_by_credential').on('credential_events').columns(['tenant_id', 'credential_id', 'at']).execute();
    },
  },
  '0018_u2f': {
    async up(db: Kysely<any>) {
      // A tenant's FIDO U2F AppID and the facets (origins, app ids) its trusted-facets list names.
      await db.schema.createTable('u2f_apps')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('facets', 'text', (c) => c.notNull())
        .execute();
      // The AppID a credential imported from U2F signs under (its rpIdHash is SHA-256 of it); null for WebAuthn ones.
      await db.schema.alterTable('credentials').addColumn('u2f_app_id', 'text').execute();
    },
  },
  '0019_uaf': {
    async up(db: Kysely<any>) {
      // FIDO UAF: challenges the server issued (serverData names the row; used once, atomically) ...
      await db.schema.createTable('uaf_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('op', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .execute();
      await db.schema.createIndex('uaf_challenges_expiry').on('uaf_challenges').column('expires_at').execute();
      // ... and the keys UAF authenticators registered (UAuth.pub as SPKI DER, base64url).
      await db.schema.createTable('uaf_registrations')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('aaid', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('signature_alg', 'integer', (c) => c.notNull())
        .addColumn('sign_counter', 'bigint', (c) => c.notNull())
        .addColumn('attestation_type', 'text', (c) => c.notNull())
        .addColumn('attestation_trusted', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addPrimaryKeyConstraint('uaf_registrations_pk', ['tenant_id', 'aaid', 'key_id'])
        .addForeignKeyConstraint('uaf_registrations_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('uaf_registrations_user').on('uaf_registrations').columns(['tenant_id', 'user_id']).execute();
    },
  },
  '0020_audit_log': auditLogMigration,
  '0021_credential_attestation': {
    async up(db: Kysely<any>) {
      // What a passkey's attestation proved at registration, and its model's name and icon (src/webauthn/attestation, docs/attestation.md).
      for (const column of ['attestation_type', 'attestation_root_source', 'attestation_root_subject', 'attestation_root_fingerprint',
        'attestation_note', 'certification_level', 'authenticator_name', 'authenticator_icon']) {
        await db.schema.alterTable('credentials').addColumn(column, 'text').execute();
      }
    },
  },
  '0022_tenant_attestation_roots': {
    async up(db: Kysely<any>) {
      // Roots a tenant trusts for attestation chains besides the FIDO metadata's (sesame trust add).
      await db.schema.createTable('tenant_attestation_roots')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('pem', 'text', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tenant_attestation_roots_pk', ['tenant_id', 'fingerprint'])
        .execute();
    },
  },
  '0023_policy_default_algorithms': {
    async up(db: Kysely<any>) {
      // A policy that took the algorithm list by default stored the list itself; it becomes "default"
      // again, so that it follows the runtime (ML-DSA where it exists). The two lists are the old
      // schema default and what `tenant set --algorithms default` stored.
      const defaults = ['-7,-8,-19,-53,-257,-35,-36,-37,-38,-39,-258,-259,-65535', '-8,-7,-35,-36,-37,-38,-39,-257,-258,-259,-65535'];
      const rows = await db.selectFrom('tenants').select(['id', 'authenticator_policy']).where('authenticator_policy', 'is not', null).execute();
      for (const row of rows) {
        const policy = JSON.parse(row.authenticator_policy as string) as { algorithms?: unknown };
        if (!Array.isArray(policy.algorithms) || !defaults.includes(policy.algorithms.join(','))) continue;
        policy.algorithms = 'default';
        await db.updateTable('tenants').set({ authenticator_policy: JSON.stringify(policy) }).where('id', '=', row.id).execute();
      }
    },
  },
  '0025_admin_console': adminConsoleMigration,
  '0026_rate_limit_windows': rateLimitWindowsMigration,
  '0030_admin_api': {
    async up(db: Kysely<any>) {
      // Admin API tokens: SHA-256 of the token (256 random bits, design decision 17); tenant_id null: every tenant (operator).
      await db.schema.createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      // Where a client wants OIDC Back-Channel Logout tokens; the groups whose members alone may sign in to it (JSON array of ids, [] = everyone).
      await db.schema.alterTable('clients').addColumn('backchannel_logout_uri', 'text').execute();
      await db.schema.alterTable('clients').addColumn('allowed_groups', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      // open: anyone may create an account; invitation: only with an invitation (sign-up tokens below).
      await db.schema.alterTable('tenants').addColumn('signup', 'text', (c) => c.notNull().defaultTo('open')).execute();
      // Custom claims: their names and types per tenant, the values per user and per group (JSON objects).
      await db.schema.createTable('claim_definitions')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('claim_definitions_pk', ['tenant_id', 'name'])
        .execute();
      await db.schema.alterTable('users').addColumn('custom_claims', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.createTable('groups')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('claims', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('groups_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('groups_name_unique', ['tenant_id', 'name'])
        .execute();
      await db.schema.createTable('group_members')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('group_members_pk', ['tenant_id', 'group_id', 'user_id'])
        .addForeignKeyConstraint('group_members_group_fk', ['tenant_id', 'group_id'], 'groups', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
        .addForeignKeyConstraint('group_members_user_fk', ['tenant_id', 'user_id'], 'users', ['tenant_id', 'id'], (fk) => fk.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('group_members_by_user').on('group_members').columns(['tenant_id', 'user_id']).execute();
      // Sign-up tokens: SHA-256 of the token; `uses` counted up by one conditional UPDATE (never past max_uses).
      await db.schema.createTable('invitations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text')
        .addColumn('groups', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('invitations_by_tenant').on('invitations').columns(['tenant_id', 'created_at']).execute();
    },
  },
  '0042_oidc_payload_clients': {
    /**
     * The client a code, token, grant, pushed request or interaction belongs to, as a column, so that
     * deleting a client deletes them (sessions name their clients inside the payload; see
     * forgetClient in src/oidc/adapter.ts). Rows made before are read once here and filled in; the
     * field names are oidc-provider 9's (`clientId`, an interaction's `params.client_id`).
     */
    async up(db: Kysely<any>) {
      await db.schema.alterTable('oidc_payloads').addColumn('client_id', 'text').execute();
      await db.schema.createIndex('oidc_payloads_client').on('oidc_payloads').columns(['tenant_id', 'client_id']).execute();
      let after: { tenant_id: string; model: string; id: string } | undefined;
      for (;;) {
        let query = db.selectFrom('oidc_payloads').select(['tenant_id', 'model', 'id', 'payload']).where('model', '!=', 'Session');
        if (after) {
          const { tenant_id: t, model: m, id: i } = after;
          query = query.where((eb: any) => eb.or([eb('tenant_id', '>', t), eb.and([eb('tenant_id', '=', t), eb('model', '>', m)]), eb.and([eb('tenant_id', '=', t), eb('model', '=', m), eb('id', '>', i)])]));
        }
        const rows = await query.orderBy('tenant_id').orderBy('model').orderBy('id').limit(500).execute();
        if (rows.length === 0) break;
        for (const row of rows) {
          const payload = JSON.parse(row.payload) as { clientId?: unknown; params?: { client_id?: unknown } };
          const clientId = typeof payload.clientId === 'string' ? payload.clientId : typeof payload.params?.client_id === 'string' ? payload.params.client_id : null;
          if (clientId !== null) {
            await db.updateTable('oidc_payloads').set({ client_id: clientId })
              .where('tenant_id', '=', row.tenant_id).where('model', '=', row.model).where('id', '=', row.id).execute();
          }
        }
        after = rows[rows.length - 1];
      }
    },
  },
});

/**
 * `schema` names the PostgreSQL schema explicitly: Kysely looks for its bookkeeping tables across
 * all schemas otherwise, and would find another schema's.
 */
export async function migrateToLatest(db: Kysely<Schema>, context: MigrationContext, schema?: string): Promise<void> {
  const { error, results } = await migrator(db, context, schema).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${(error as Error | undefined)?.message ?? 'unknown error'}`, { cause: error });
  }
}

/** Names of the migrations this code knows that the database has not run (readiness reports them). */
export async function pendingMigrations(db: Kysely<Schema>, context: MigrationContext, schema?: string): Promise<string[]> {
  return (await migrator(db, context, schema).getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
}

function migrator(db: Kysely<Schema>, context: MigrationContext, schema: string | undefined): Migrator {
  const migrations = buildMigrations(context);
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'sesame_migrations',
    migrationLockTableName: 'sesame_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}
