import type { Logger } from '../log.js';
import { randomId } from '../ids.js';
import { currentAuditContext } from './audit-context.js';
import type { AuditEntry, AuditFilter, AuditRepository } from './audit-repository.js';

/** Every kind of event the audit log holds (README.md, "Audit log", says what each means). */
export type AuditEventType =
  | 'signup.succeeded' | 'signup.failed'
  | 'signin.succeeded' | 'signin.failed'
  | 'passkey.added' | 'passkey.removed'
  | 'recovery.started' | 'recovery.used' | 'recovery.failed'
  | 'phone.enrolled' | 'phone.removed'
  | 'push.sent' | 'push.approved' | 'push.denied' | 'push.wrong_number'
  | 'email.verified' | 'email.changed'
  | 'admin.tenant_created' | 'admin.tenant_changed' | 'admin.client_created'
  | 'admin.user_disabled' | 'admin.user_enabled' | 'admin.user_deleted' | 'admin.recovery_link_created'
  | 'admin.keys_rotated' | 'admin.mds_loaded' | 'admin.u2f_imported'
  | 'admin.signed_in' | 'admin.enrolled' | 'admin.invited' | 'admin.invitation_withdrawn' | 'admin.removed'
  | 'onboarding.requested'
  | 'admin.client_changed' | 'admin.client_deleted' | 'admin.client_secret_rotated'
  | 'admin.api_token_created' | 'admin.api_token_revoked'
  | 'admin.group_created' | 'admin.group_changed' | 'admin.group_deleted' | 'admin.claims_changed'
  | 'admin.invitation_created' | 'admin.invitation_revoked' | 'admin.recovery_link_sent'
  | 'logout.backchannel_sent' | 'logout.backchannel_failed';

/** Identifiers, names, counts, flags: never a secret, code or token (each call site is reviewed for it). */
export type AuditDetail = Record<string, string | number | boolean | string[] | null>;

export interface AuditEvent {
  type: AuditEventType;
  tenantId: string;
  userId?: string;
  /** The user's address now; looked up by userId when not given. */
  email?: string;
  detail?: AuditDetail;
}

/** Failures are counted per tenant, kind, reason and client address in windows of this length. */
export const FAILURE_WINDOW_MS = 60_000;

/**
 * The audit log: who did what to which account, when and from where. The request's context (IP,
 * User-Agent, request id, or the CLI) is filled in from AsyncLocalStorage.
 *
 * A failure to record never undoes or blocks the action it records, a successful sign-in included:
 * refusing sign-ins whenever the audit table is unwritable would turn a storage fault into an outage
 * for every user. Instead the event is written to the log at error level (sign-ins and admin changes)
 * with everything the row would have held, so the trail survives in the log stream.
 */
export class AuditLog {
  constructor(private readonly repository: AuditRepository, private readonly log: Logger, private readonly retentionDays: number) {}

  async record(event: AuditEvent, now = Date.now()): Promise<void> {
    await this.write(event, undefined, now);
  }

  /**
   * A refused ceremony. Identical failures (same tenant, kind, reason, address, detail) within a minute are
   * one row with a count, so a flood of bad attempts costs at most one row per address, kind and
   * reason a minute (and the rate limits bound the attempts themselves).
   */
  async recordFailure(event: AuditEvent & { reason: string }, now = Date.now()): Promise<void> {
    const context = currentAuditContext();
    const window = Math.floor(now / FAILURE_WINDOW_MS);
    const key = [event.tenantId, event.type, event.reason, context?.ip ?? '', window, JSON.stringify(event.detail ?? {})].join('|');
    await this.write({ ...event, detail: { ...event.detail, reason: event.reason } }, key, now);
  }

  list(filter: AuditFilter): AsyncGenerator<AuditEntry> {
    return this.repository.list(filter);
  }

  /** The kinds of event the tenant's log holds (the console's filter offers these). */
  typesOf(tenantId: string): Promise<string[]> {
    return this.repository.typesOf(tenantId);
  }

  /** A page of events, newest first (the console). */
  page(filter: AuditFilter, limit: number, before?: { at: number; id: string }): Promise<AuditEntry[]> {
    return this.repository.page(filter, limit, before);
  }

  /** Housekeeping: events older than AUDIT_RETENTION_DAYS are deleted (the only delete there is). */
  purgeExpired(now = Date.now()): Promise<number> {
    return this.repository.purgeBefore(now - this.retentionDays * 86_400_000);
  }

  private async write(event: AuditEvent, aggregateKey: string | undefined, now: number): Promise<void> {
    const context = currentAuditContext();
    const entry: AuditEntry = {
      id: randomId(12),
      at: now,
      tenantId: event.tenantId,
      type: event.type,
      actor: context?.actor ?? 'user',
      userId: event.userId ?? null,
      userEmail: event.email ?? null,
      ip: context?.ip ?? null,
      userAgent: context?.userAgent ?? null,
      requestId: context?.requestId ?? null,
      detail: event.detail ?? {},
      count: 1,
    };
    try {
      if (entry.userId && !entry.userEmail) entry.userEmail = await this.repository.emailOf(entry.tenantId, entry.userId) ?? null;
      await this.repository.insert(entry, aggregateKey);
    } catch (err) {
      const loud = event.type === 'signin.succeeded' || event.type === 'signup.succeeded' || event.type.startsWith('admin.');
      this.log[loud ? 'error' : 'warn']({ err, audit: entry }, 'an audit event could not be recorded; the action went ahead');
    }
  }
}

/** One event as `sesame audit export` and the console's download write it: one JSON object per line. */
export function exportedEntry(e: AuditEntry) {
  return {
    time: new Date(e.at).toISOString(), tenant: e.tenantId, type: e.type, actor: e.actor,
    userId: e.userId, email: e.userEmail, ip: e.ip, userAgent: e.userAgent, requestId: e.requestId, count: e.count, detail: e.detail, id: e.id,
  };
}
