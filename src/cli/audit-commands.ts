import type { Services } from '../services.js';
import type { AuditFilter } from '../audit/audit-repository.js';
import { exportedEntry } from '../audit/audit-log.js';
import { table } from './table.js';

/** `sesame audit list|export`: the audit log of a tenant (src/audit), filtered. */
export class AuditUsageError extends Error {}

/** Changes that concern every tenant (the FIDO metadata in force) are recorded under this tenant id, which no tenant can have. */
export const ALL_TENANTS = '*';

export async function runAuditCommand(action: string | undefined, flags: Record<string, unknown>, services: Services, out: (line?: string) => void): Promise<void> {
  if (action !== 'list' && action !== 'export') throw new AuditUsageError(`Unknown command "audit ${action ?? ''}".`);
  const filter = await filterFrom(flags, services);
  if (action === 'export') {
    // JSON lines, oldest first: one event per line, for log pipelines and `jq`.
    for await (const entry of services.audit.list(filter)) out(JSON.stringify(exportedEntry(entry)));
    return;
  }
  const rows: string[][] = [];
  for await (const e of services.audit.list(filter)) {
    rows.push([new Date(e.at).toISOString(), e.type, e.userEmail ?? e.userId ?? '', e.actor === 'cli' ? 'cli' : e.ip ?? '', e.count > 1 ? `×${e.count}` : '', JSON.stringify(e.detail)]);
  }
  if (rows.length === 0) out(`No audit events in tenant "${filter.tenantId}" match.`);
  else for (const line of table(['TIME', 'EVENT', 'USER', 'FROM', 'COUNT', 'DETAIL'], rows)) out(line);
}

async function filterFrom(flags: Record<string, unknown>, services: Services): Promise<AuditFilter> {
  if (typeof flags.tenant !== 'string' || !flags.tenant) throw new AuditUsageError('"audit" needs --tenant <id>.');
  const tenantId = flags.tenant;
  if (tenantId !== ALL_TENANTS) await services.tenants.requireTenant(tenantId);
  const filter: AuditFilter = { tenantId };
  if (typeof flags.user === 'string') {
    // By the account's id, so the events from before an address change are included; a deleted account by its address then.
    const user = await services.users.findByEmail(tenantId, flags.user);
    if (user) filter.userId = user.id;
    else filter.userEmail = flags.user;
  }
  if (typeof flags.type === 'string') filter.type = flags.type;
  if (typeof flags.since === 'string') filter.since = instant('--since', flags.since);
  if (typeof flags.until === 'string') filter.until = instant('--until', flags.until);
  return filter;
}

function instant(flag: string, value: string): number {
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new AuditUsageError(`${flag} takes an ISO 8601 date or time, like 2025-01-31 or 2025-01-31T12:00:00Z (not "${value}").`);
  return at;
}
