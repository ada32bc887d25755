import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { Dialect } from '../storage/db.js';

const DAY_MS = 86_400_000;

/** The events the dashboard counts, and how each is shown: the way in, and whether it worked. */
const COUNTED: Record<string, { outcome: 'succeeded' | 'failed'; method?: string }> = {
  'signin.succeeded': { outcome: 'succeeded' },
  'signin.failed': { outcome: 'failed' },
  'signup.succeeded': { outcome: 'succeeded', method: 'signup' },
  'signup.failed': { outcome: 'failed', method: 'signup' },
  'recovery.used': { outcome: 'succeeded', method: 'recovery' },
  'recovery.failed': { outcome: 'failed', method: 'recovery' },
};

/** Sign-in methods, from the `via` the events record. */
export const METHODS = ['passkey', 'account', 'phone', 'signup', 'recovery'] as const;
export type Method = (typeof METHODS)[number];
const METHOD_OF_VIA: Record<string, Method> = { interaction: 'passkey', account: 'account', crossdevice: 'phone' };

export interface DayCounts {
  /** YYYY-MM-DD (UTC). */
  day: string;
  counts: Record<Method, { succeeded: number; failed: number }>;
}

export interface Dashboard {
  days: DayCounts[];
  /** Refusals by their reason (the error code), most frequent first. */
  failures: Array<{ reason: string; count: number }>;
  /** People who signed in (or signed up) at least once in the last day, 7 days, 30 days. */
  activeUsers: { day: number; week: number; month: number };
}

/**
 * What the console's dashboard shows, counted from the audit log in SQL (grouped by day, event and
 * way in), so that a busy tenant's month is a few dozen rows, not its events. Aggregated failures
 * count with their `count`.
 */
export class AuditStats {
  constructor(private readonly db: Kysely<Schema>, private readonly dialect: Dialect) {}

  async dashboard(tenantId: string, days: number, now = Date.now()): Promise<Dashboard> {
    const firstDay = Math.floor(now / DAY_MS) - (days - 1);
    const since = firstDay * DAY_MS;
    const via = this.detailField('via');
    const dayOf = sql<number>`(at / ${sql.lit(DAY_MS)})`;
    const rows = await this.db.selectFrom('audit_log')
      .select([dayOf.as('day'), 'type', via.as('via')])
      .select((eb) => eb.fn.sum<number>('count').as('total'))
      .where('tenant_id', '=', tenantId).where('at', '>=', since).where('type', 'in', Object.keys(COUNTED))
      .groupBy([dayOf, 'type', via])
      .execute();
    const table = new Map<number, DayCounts>();
    for (let d = firstDay; d < firstDay + days; d++) {
      table.set(d, { day: new Date(d * DAY_MS).toISOString().slice(0, 10), counts: Object.fromEntries(METHODS.map((m) => [m, { succeeded: 0, failed: 0 }])) as DayCounts['counts'] });
    }
    for (const row of rows) {
      const counted = COUNTED[row.type]!;
      const method = counted.method as Method | undefined ?? METHOD_OF_VIA[String(row.via)] ?? 'passkey';
      const entry = table.get(Number(row.day));
      if (entry) entry.counts[method][counted.outcome] += Number(row.total);
    }

    const reason = this.detailField('reason');
    const failures = await this.db.selectFrom('audit_log')
      .select(reason.as('reason'))
      .select((eb) => eb.fn.sum<number>('count').as('total'))
      .where('tenant_id', '=', tenantId).where('at', '>=', since).where('type', 'in', Object.keys(COUNTED).filter((t) => t.endsWith('.failed')))
      .groupBy(reason)
      .execute();

    const active = async (from: number) => {
      const row = await this.db.selectFrom('audit_log')
        .select((eb) => eb.fn.count<number>('user_id').distinct().as('people'))
        .where('tenant_id', '=', tenantId).where('at', '>=', from).where('type', 'in', ['signin.succeeded', 'signup.succeeded', 'recovery.used'])
        .where('user_id', 'is not', null)
        .executeTakeFirstOrThrow();
      return Number(row.people);
    };

    return {
      days: [...table.values()].reverse(),
      failures: failures.map((f) => ({ reason: String(f.reason ?? 'unknown'), count: Number(f.total) })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      activeUsers: { day: await active(now - DAY_MS), week: await active(now - 7 * DAY_MS), month: await active(now - 30 * DAY_MS) },
    };
  }

  /** A top-level text field of the events' JSON detail. */
  private detailField(name: 'via' | 'reason'): RawBuilder<string | null> {
    return this.dialect === 'postgres' ? sql<string | null>`(detail::jsonb ->> ${sql.lit(name)})` : sql<string | null>`json_extract(detail, ${sql.lit(`$.${name}`)})`;
  }
}
