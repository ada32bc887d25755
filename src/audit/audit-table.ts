import type { Kysely, Migration } from 'kysely';

/** One row per security event; a flood of identical failures is one row with a count (see AuditLog). */
export interface AuditLogTable {
  id: string;
  at: number;
  tenant_id: string;
  type: string;
  actor: string; // user | cli | admin:<address>
  user_id: string | null;
  /** The user's address when the event happened (it may change or the user be deleted later). */
  user_email: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  detail: string; // JSON object
  count: number;
  /** Set only on aggregated failures: tenant, type, reason, IP and minute; unique, so a repeat adds to the count. */
  aggregate_key: string | null;
}

export const auditLogMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('audit_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('user_email', 'text')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('request_id', 'text')
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('aggregate_key', 'text', (c) => c.unique())
      .execute();
    await db.schema.createIndex('audit_log_by_tenant').on('audit_log').columns(['tenant_id', 'at']).execute();
    await db.schema.createIndex('audit_log_by_user').on('audit_log').columns(['tenant_id', 'user_id', 'at']).execute();
    await db.schema.createIndex('audit_log_by_time').on('audit_log').column('at').execute();
  },
};
