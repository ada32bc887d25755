import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import { sealedColumn } from '../../secrets/sealed-columns.js';
import { DEFAULT_POLICY, parseStoredPolicy, type AuthenticatorPolicy } from '../../webauthn/policy/authenticator-policy.js';
import { announceChange, readThrough } from '../read-cache.js';

/** The read cache's key of a tenant; its announcement also makes every node rebuild the tenant's provider (services.ts). */
export const tenantCacheKey = (id: string) => `tenant:${id}`;
const cacheKey = tenantCacheKey;

export interface Tenant {
  id: string;
  name: string;
  cookieKeys: string[];
  createdAt: number;
  /** Where cross-device requests are announced to native apps (signed with webhookSecret). */
  webhookUrl?: string | null;
  webhookSecret?: string | null;
  /** Whether people may get a recovery code by e-mail (on unless the tenant turned it off). */
  emailRecovery?: boolean;
  /** 'required' (default): sign-up proves the e-mail address with a code before the passkey is made. */
  emailVerification?: EmailVerificationSetting;
  /** Primary colour (#rrggbb) of its pages and mails; Sesame's own when null. */
  brandColour?: string | null;
  /** Version of its logo (its bytes are read only when served: TenantRepository.findLogo); null: no logo. */
  logoVersion?: string | null;
  /** Which authenticators it accepts and what it asks of them (src/webauthn/policy); the defaults when absent. */
  authenticatorPolicy?: AuthenticatorPolicy;
  /** https origins besides PUBLIC_URL's whose WebAuthn ceremonies it accepts (Related Origin Requests). */
  relatedOrigins?: string[];
  /** 'open' (default): anyone may create an account; 'invitation': only with an invitation link. */
  signup?: SignupSetting;
}

export const SIGNUP_SETTINGS = ['open', 'invitation'] as const;
export type SignupSetting = (typeof SIGNUP_SETTINGS)[number];

export const policyOf = (tenant: Tenant): AuthenticatorPolicy => tenant.authenticatorPolicy ?? DEFAULT_POLICY;

/** Every column but the logo's bytes, which only the logo's route needs. */
const TENANT_COLUMNS = ['id', 'name', 'cookie_keys', 'created_at', 'webhook_url', 'webhook_secret', 'email_recovery', 'email_verification', 'brand_colour', 'logo_version', 'authenticator_policy', 'related_origins', 'signup'] as const;

export const EMAIL_VERIFICATION_SETTINGS = ['required', 'off'] as const;
export type EmailVerificationSetting = (typeof EMAIL_VERIFICATION_SETTINGS)[number];

/**
 * Tenants; their cookie keys and webhook secret are stored encrypted (SecretBox). `find` reads
 * through the database's ReadCache: every write here announces the tenant as changed.
 */
export class TenantRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly secrets: SecretBox) {}

  async insert(tenant: Tenant): Promise<void> {
    await this.db.insertInto('tenants').values({
      id: tenant.id,
      name: tenant.name,
      cookie_keys: this.secrets.seal(JSON.stringify(tenant.cookieKeys), sealedColumn.cookieKeys(tenant.id)),
      created_at: tenant.createdAt,
      webhook_url: tenant.webhookUrl ?? null,
      webhook_secret: tenant.webhookSecret ? this.secrets.seal(tenant.webhookSecret, sealedColumn.webhookSecret(tenant.id)) : null,
      email_recovery: tenant.emailRecovery === false ? 0 : 1,
      email_verification: tenant.emailVerification ?? 'required',
      related_origins: JSON.stringify(tenant.relatedOrigins ?? []),
      signup: tenant.signup ?? 'open',
    }).execute();
  }

  async find(id: string): Promise<Tenant | undefined> {
    const row = await readThrough(this.db, cacheKey(id), () => this.db.selectFrom('tenants').select(TENANT_COLUMNS).where('id', '=', id).executeTakeFirst());
    return row && this.toTenant(row);
  }

  async findLogo(id: string): Promise<{ type: string; bytes: Buffer; version: string } | undefined> {
    const row = await this.db.selectFrom('tenants').select(['logo', 'logo_type', 'logo_version']).where('id', '=', id).executeTakeFirst();
    if (!row?.logo || !row.logo_type || !row.logo_version) return undefined;
    return { type: row.logo_type, bytes: Buffer.from(row.logo, 'base64'), version: row.logo_version };
  }

  async setName(id: string, name: string): Promise<void> {
    await this.db.updateTable('tenants').set({ name }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setBrandColour(id: string, colour: string | null): Promise<void> {
    await this.db.updateTable('tenants').set({ brand_colour: colour }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setLogo(id: string, logo: { type: string; bytes: Buffer; version: string } | null): Promise<void> {
    await this.db.updateTable('tenants')
      .set({ logo: logo?.bytes.toString('base64') ?? null, logo_type: logo?.type ?? null, logo_version: logo?.version ?? null })
      .where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setWebhook(id: string, url: string | null, secret: string | null): Promise<void> {
    const sealed = secret === null ? null : this.secrets.seal(secret, sealedColumn.webhookSecret(id));
    await this.db.updateTable('tenants').set({ webhook_url: url, webhook_secret: sealed }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setEmailRecovery(id: string, on: boolean): Promise<void> {
    await this.db.updateTable('tenants').set({ email_recovery: on ? 1 : 0 }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setEmailVerification(id: string, setting: EmailVerificationSetting): Promise<void> {
    await this.db.updateTable('tenants').set({ email_verification: setting }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setAuthenticatorPolicy(id: string, policy: AuthenticatorPolicy): Promise<void> {
    await this.db.updateTable('tenants').set({ authenticator_policy: JSON.stringify(policy) }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setSignup(id: string, signup: SignupSetting): Promise<void> {
    await this.db.updateTable('tenants').set({ signup }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  async setRelatedOrigins(id: string, origins: string[]): Promise<void> {
    await this.db.updateTable('tenants').set({ related_origins: JSON.stringify(origins) }).where('id', '=', id).execute();
    await announceChange(this.db, cacheKey(id));
  }

  /** Every tenant's related origins together: /.well-known/webauthn serves them for the one RP ID all tenants share. */
  async allRelatedOrigins(): Promise<string[]> {
    const rows = await this.db.selectFrom('tenants').select('related_origins').execute();
    return [...new Set(rows.flatMap((row) => JSON.parse(row.related_origins) as string[]))].sort();
  }

  async list(): Promise<Tenant[]> {
    const rows = await this.db.selectFrom('tenants').select(TENANT_COLUMNS).orderBy('id').execute();
    return rows.map((row) => this.toTenant(row));
  }

  private toTenant(row: Pick<Schema['tenants'], (typeof TENANT_COLUMNS)[number]>): Tenant {
    return {
      id: row.id,
      name: row.name,
      cookieKeys: JSON.parse(this.secrets.open(row.cookie_keys, sealedColumn.cookieKeys(row.id))),
      createdAt: Number(row.created_at),
      webhookUrl: row.webhook_url,
      webhookSecret: row.webhook_secret === null ? null : this.secrets.open(row.webhook_secret, sealedColumn.webhookSecret(row.id)),
      emailRecovery: Number(row.email_recovery) !== 0,
      emailVerification: row.email_verification === 'off' ? 'off' : 'required',
      brandColour: row.brand_colour,
      logoVersion: row.logo_version,
      authenticatorPolicy: parseStoredPolicy(row.authenticator_policy),
      relatedOrigins: JSON.parse(row.related_origins) as string[],
      signup: row.signup === 'invitation' ? 'invitation' : 'open',
    };
  }
}
