import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import { sealedColumn } from '../../secrets/sealed-columns.js';

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
}

export const EMAIL_VERIFICATION_SETTINGS = ['required', 'off'] as const;
export type EmailVerificationSetting = (typeof EMAIL_VERIFICATION_SETTINGS)[number];

/** Tenants; their cookie keys and webhook secret are stored encrypted (SecretBox). */
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
    }).execute();
  }

  async find(id: string): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.toTenant(row);
  }

  async setWebhook(id: string, url: string | null, secret: string | null): Promise<void> {
    const sealed = secret === null ? null : this.secrets.seal(secret, sealedColumn.webhookSecret(id));
    await this.db.updateTable('tenants').set({ webhook_url: url, webhook_secret: sealed }).where('id', '=', id).execute();
  }

  async setEmailRecovery(id: string, on: boolean): Promise<void> {
    await this.db.updateTable('tenants').set({ email_recovery: on ? 1 : 0 }).where('id', '=', id).execute();
  }

  async setEmailVerification(id: string, setting: EmailVerificationSetting): Promise<void> {
    await this.db.updateTable('tenants').set({ email_verification: setting }).where('id', '=', id).execute();
  }

  async list(): Promise<Tenant[]> {
    const rows = await this.db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map((row) => this.toTenant(row));
  }

  private toTenant(row: Schema['tenants']): Tenant {
    return {
      id: row.id,
      name: row.name,
      cookieKeys: JSON.parse(this.secrets.open(row.cookie_keys, sealedColumn.cookieKeys(row.id))),
      createdAt: Number(row.created_at),
      webhookUrl: row.webhook_url,
      webhookSecret: row.webhook_secret === null ? null : this.secrets.open(row.webhook_secret, sealedColumn.webhookSecret(row.id)),
      emailRecovery: Number(row.email_recovery) !== 0,
      emailVerification: row.email_verification === 'off' ? 'off' : 'required',
    };
  }
}
