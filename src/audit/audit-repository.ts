import type { Kysely, Selectable } from 'kysely';
import type { AuditLogTable } from './audit-table.js';
import type { Schema } from '../storage/schema.js';

export interface AuditEntry {
  id: string;
  at: number;
  tenantId: string;
  type: string;
  actor: string;
  userId: string | null;
  userEmail: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  detail: Record<string, unknown>;
  /** How many identical failures this row stands for (1 for everything else). */
  count: number;
}

export interface AuditFilter {
  tenantId: string;
  userId?: string;
  /** For a user no longer there (deleted): the address the events were recorded with. */
  userEmail?: string;
  type?: string;
  since?: number;
  until?: number;
}

/**
 * The audit log's SQL. Append-only: rows are inserted (or an aggregated failure counted up) and
 * deleted only when older than the retention; nothing edits an event.
 */
export class AuditRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(entry: AuditEntry, aggregateKey?: string): Promise<void> {
    const row = {
      id: entry.id, at: entry.at, tenant_id: entry.tenantId, type: entry.type, actor: entry.actor,
      user_id: entry.userId, user_email: entry.userEmail, ip: entry.ip, user_agent: entry.userAgent,
      request_id: entry.requestId, detail: JSON.stringify(entry.detail), count: 1, aggregate_key: aggregateKey ?? null,
    };
    if (!aggregateKey) {
      await this.db.insertInto('audit_log').values(row).execute();
      return;
    }
    // One statement, so concurrent failures on any node each count once.
    await this.db.insertInto('audit_log').values(row)
      .onConflict((oc) => oc.column('aggregate_key').doUpdateSet((eb) => ({ count: eb('audit_log.count', '+', 1) })))
      .execute();
  }

  async emailOf(tenantId: string, userId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('users').select('email').where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
    return row?.email;
  }

  /** Oldest first, so an export reads as the events happened. */
  async *list(filter: AuditFilter, pageSize = 500): AsyncGenerator<AuditEntry> {
    let after: { at: number; id: string } | undefined;
    for (;;) {
      let query = this.filtered(filter);
      if (after) {
        const { at, id } = after;
        query = query.where((eb) => eb.or([eb('at', '>', at), eb.and([eb('at', '=', at), eb('id', '>', id)])]));
      }
      const rows = await query.orderBy('at').orderBy('id').limit(pageSize).execute();
      for (const row of rows) yield toEntry(row);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1];
      after = { at: Number(last.at), id: last.id };
    }
  }

  /** The tenant's events that match the filter, not yet ordered. */
  private filtered(filter: AuditFilter) {
    let query = this.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', filter.tenantId);
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.userEmail) query = query.where('user_email', '=', filter.userEmail);
    if (filter.type) query = query.where('type', '=', filter.type);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('at', '<', filter.until);
    return query;
  }

  async typesOf(tenantId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('audit_log').select('type').distinct().where('tenant_id', '=', tenantId).orderBy('type').execute();
    return rows.map((r) => r.type);
  }

  /** Newest first, `limit` at most, older than the cursor (the last row of the previous page): the console's pages. */
  async page(filter: AuditFilter, limit: number, before?: { at: number; id: string }): Promise<AuditEntry[]> {
    let query = this.filtered(filter);
    if (before) {
      const { at, id } = before;
      query = query.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toEntry);
  }

  async purgeBefore(before: number): Promise<number> {
    const result = await this.db.deleteFrom('audit_log').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: row.id, at: Number(row.at), tenantId: row.tenant_id, type: row.type, actor: row.actor,
    userId: row.user_id, userEmail: row.user_email, ip: row.ip, userAgent: row.user_agent,
    requestId: row.request_id, detail: JSON.parse(row.detail) as Record<string, unknown>, count: Number(row.count),
  };
}
