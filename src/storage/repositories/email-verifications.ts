import type { Kysely, Selectable } from 'kysely';
import type { EmailVerificationsTable, Schema } from '../schema.js';

export type EmailVerificationPurpose = 'signup' | 'account';

export interface EmailVerification {
  id: string;
  tenantId: string;
  purpose: EmailVerificationPurpose;
  binding: string;
  userId: string | null;
  email: string;
  displayName: string | null;
  attempts: number;
  expiresAt: number;
  verifiedAt: number | null;
  consumedAt: number | null;
}

export interface NewEmailVerification extends Omit<EmailVerification, 'attempts' | 'verifiedAt' | 'consumedAt'> {
  codeHash: string;
  linkHash: string;
  createdAt: number;
}

/**
 * E-mail codes. Every rule — a code proves the address once, at most `maxAttempts` tries, not
 * after its expiry — is one conditional UPDATE, so concurrent attempts on any node cannot pass it twice.
 */
export class EmailVerificationRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(v: NewEmailVerification): Promise<void> {
    await this.db.insertInto('email_verifications').values({
      id: v.id,
      tenant_id: v.tenantId,
      purpose: v.purpose,
      binding: v.binding,
      user_id: v.userId,
      email: v.email,
      display_name: v.displayName,
      code_hash: v.codeHash,
      link_hash: v.linkHash,
      attempts: 0,
      expires_at: v.expiresAt,
      verified_at: null,
      consumed_at: null,
      created_at: v.createdAt,
    }).execute();
  }

  async find(tenantId: string, id: string): Promise<EmailVerification | undefined> {
    const row = await this.db.selectFrom('email_verifications').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toVerification(row);
  }

  /**
   * One try with a code: counts it, and marks the address proved when the hash matches — only while
   * the code is unproved, unexpired and has tries left. True exactly for the one successful try.
   */
  async tryCode(tenantId: string, id: string, codeHash: string, maxAttempts: number, now: number): Promise<boolean> {
    const open = this.db.updateTable('email_verifications')
      .where('tenant_id', '=', tenantId).where('id', '=', id)
      .where('verified_at', 'is', null).where('attempts', '<', maxAttempts).where('expires_at', '>', now);
    const proved = await open.set((eb) => ({ verified_at: now, attempts: eb('attempts', '+', 1) }))
      .where('code_hash', '=', codeHash).executeTakeFirst();
    if (Number(proved.numUpdatedRows) === 1) return true;
    await open.set((eb) => ({ attempts: eb('attempts', '+', 1) })).executeTakeFirst();
    return false;
  }

  /** The link from the mail: proves the address under the same conditions as a code (but counts no try). */
  async proveByLink(tenantId: string, id: string, linkHash: string, maxAttempts: number, now: number): Promise<boolean> {
    const result = await this.db.updateTable('email_verifications').set({ verified_at: now })
      .where('tenant_id', '=', tenantId).where('id', '=', id).where('link_hash', '=', linkHash)
      .where('verified_at', 'is', null).where('attempts', '<', maxAttempts).where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Uses a proved address once (to create the account, or to change the account's address). */
  async consume(db: Kysely<Schema>, tenantId: string, id: string, now: number): Promise<boolean> {
    const result = await db.updateTable('email_verifications').set({ consumed_at: now })
      .where('tenant_id', '=', tenantId).where('id', '=', id)
      .where('verified_at', 'is not', null).where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteExpired(before: number): Promise<void> {
    await this.db.deleteFrom('email_verifications').where('expires_at', '<', before).execute();
  }
}

function toVerification(row: Selectable<EmailVerificationsTable>): EmailVerification {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    purpose: row.purpose as EmailVerificationPurpose,
    binding: row.binding,
    userId: row.user_id,
    email: row.email,
    displayName: row.display_name,
    attempts: Number(row.attempts),
    expiresAt: Number(row.expires_at),
    verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}
