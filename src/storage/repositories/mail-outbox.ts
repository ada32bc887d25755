import type { Kysely, Selectable } from 'kysely';
import type { MailOutboxTable, Schema } from '../schema.js';
import type { Dialect } from '../db.js';

export type OutboxRow = Selectable<MailOutboxTable>;

export interface NewOutboxMail {
  id: string;
  tenantId: string;
  recipient: string;
  template: string;
  /** Sealed JSON. */
  data: string;
  createdAt: number;
}

/**
 * The mail outbox. A worker owns a row it claimed until `claimed_until` (its lease), and every later
 * write is conditional on its `claim_token`: when a worker died and its lease ran out, the next one
 * takes the row over, and the late writes of the old one (if it was only slow) change nothing.
 */
export class MailOutboxRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly dialect: Dialect) {}

  async insert(mail: NewOutboxMail): Promise<void> {
    await this.db.insertInto('mail_outbox').values({
      id: mail.id,
      tenant_id: mail.tenantId,
      recipient: mail.recipient,
      template: mail.template,
      data: mail.data,
      status: 'queued',
      attempts: 0,
      next_attempt_at: mail.createdAt,
      claimed_until: null,
      claim_token: null,
      last_error: null,
      created_at: mail.createdAt,
      sent_at: null,
    }).execute();
  }

  /**
   * Claims up to `limit` due mails in one statement, counting the attempt. On PostgreSQL the rows
   * are picked with FOR UPDATE SKIP LOCKED, so that two nodes claiming at once take different rows
   * rather than waiting on each other; SQLite runs one writing statement at a time.
   */
  async claimDue(options: { now: number; leaseMs: number; limit: number; token: string }): Promise<OutboxRow[]> {
    const { now, leaseMs, limit, token } = options;
    return this.db.updateTable('mail_outbox')
      .set((eb) => ({ claimed_until: now + leaseMs, claim_token: token, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) => eb.selectFrom('mail_outbox').select('id')
        .where('status', '=', 'queued')
        .where('next_attempt_at', '<=', now)
        .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<=', now)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .$if(this.dialect === 'postgres', (q) => q.forUpdate().skipLocked()))
      // Checked again on the row itself: what the sub-select saw may have changed before the update.
      .where('status', '=', 'queued')
      .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<=', now)]))
      .returningAll()
      .execute();
  }

  /** False when the claim was lost (the lease ran out and another worker took the row). */
  async markSent(id: string, token: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('mail_outbox')
      .set({ status: 'sent', sent_at: now, data: '', claimed_until: null, claim_token: null, last_error: null })
      .where('id', '=', id).where('claim_token', '=', token)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async markRetry(id: string, token: string, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('mail_outbox')
      .set({ next_attempt_at: nextAttemptAt, last_error: error, claimed_until: null, claim_token: null })
      .where('id', '=', id).where('claim_token', '=', token)
      .execute();
  }

  async markFailed(id: string, token: string, error: string): Promise<void> {
    await this.db.updateTable('mail_outbox')
      .set({ status: 'failed', data: '', last_error: error, claimed_until: null, claim_token: null })
      .where('id', '=', id).where('claim_token', '=', token)
      .execute();
  }

  async find(id: string): Promise<OutboxRow | undefined> {
    return this.db.selectFrom('mail_outbox').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** What a mail shows of its tenant: name, colour and logo version (src/tenants/branding.ts). */
  async tenantBranding(tenantId: string): Promise<{ id: string; name: string; brandColour: string | null; logoVersion: string | null } | undefined> {
    const row = await this.db.selectFrom('tenants').select(['id', 'name', 'brand_colour', 'logo_version']).where('id', '=', tenantId).executeTakeFirst();
    return row && { id: row.id, name: row.name, brandColour: row.brand_colour, logoVersion: row.logo_version };
  }
}
