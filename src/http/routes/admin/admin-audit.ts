import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import type { AuditEntry, AuditFilter } from '../../../audit/audit-repository.js';
import { exportedEntry } from '../../../audit/audit-log.js';
import { describeBrowser } from '../../../crossdevice/describe-browser.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import { renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'A day looks like 2025-01-31.').refine((d) => !Number.isNaN(Date.parse(d)) && new Date(d).toISOString().slice(0, 10) === d, 'This is not a day of the calendar.')
  .optional().or(z.literal('').transform(() => undefined));
const filterQuery = z.object({
  type: z.string().max(64).regex(/^[a-z_.]*$/, 'Choose an event from the list.').optional(),
  user: z.string().trim().toLowerCase().max(254).optional(),
  since: day,
  until: day,
  before: z.string().regex(/^\d{1,15}\.[A-Za-z0-9_-]{1,64}$/).optional(),
});

type AuditDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'audit' | 'users' | 'config'>;

/** A tenant's audit log in the console: filtered, newest first, 50 a page; and its download as JSON lines. */
export function adminAuditRoutes(deps: AuditDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);

  const filterOf = async (tenant: Tenant, query: z.infer<typeof filterQuery>): Promise<AuditFilter> => {
    const filter: AuditFilter = { tenantId: tenant.id };
    if (query.type) filter.type = query.type;
    if (query.user) {
      // By the account's id, so the events from before an address change are included; a deleted account by its address.
      const user = await deps.users.findByEmail(tenant.id, query.user);
      if (user) filter.userId = user.id;
      else filter.userEmail = query.user;
    }
    if (query.since) filter.since = Date.parse(query.since);
    if (query.until) filter.until = Date.parse(query.until) + DAY_MS;
    return filter;
  };

  const queryString = (query: Record<string, string | undefined>) => {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => Boolean(e[1])));
    return params.size ? `?${params}` : '';
  };

  router.get('/admin/tenants/:tenant/audit', signedIn, async (ctx: Context) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const query = parseInput(filterQuery, ctx.query);
    const filter = await filterOf(tenant, query);
    const [at, id] = query.before ? query.before.split('.') : [];
    const rows = await deps.audit.page(filter, PAGE_SIZE + 1, at ? { at: Number(at), id: id! } : undefined);
    const entries = rows.slice(0, PAGE_SIZE);
    const kept = { type: query.type, user: query.user, since: query.since, until: query.until };
    const base = tenantPath(tenant, 'audit');
    const last = entries[entries.length - 1];
    renderConsole(ctx, 'audit', {
      title: `Audit log · ${tenant.name}`, tenant, current: 'audit', script: 'admin',
      base,
      retentionDays: deps.config.auditRetentionDays,
      types: await deps.audit.typesOf(tenant.id),
      filter: { type: query.type ?? '', user: query.user ?? '', since: query.since ?? '', until: query.until ?? '' },
      entries: entries.map(view),
      exportHref: `${base}/export${queryString(kept)}`,
      olderHref: rows.length > PAGE_SIZE && last ? `${base}${queryString({ ...kept, before: `${last.at}.${last.id}` })}` : undefined,
      newestHref: query.before ? `${base}${queryString(kept)}` : undefined,
    });
  });

  router.get('/admin/tenants/:tenant/audit/export', signedIn, async (ctx: Context) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const filter = await filterOf(tenant, parseInput(filterQuery, ctx.query));
    const lines: string[] = [];
    for await (const entry of deps.audit.list(filter)) lines.push(JSON.stringify(exportedEntry(entry)));
    ctx.type = 'application/x-ndjson';
    ctx.set('Content-Disposition', `attachment; filename="audit-${tenant.id}.jsonl"`);
    ctx.body = lines.length ? `${lines.join('\n')}\n` : '';
  });

  return router;
}

function view(e: AuditEntry) {
  const iso = new Date(e.at).toISOString();
  const browser = e.userAgent ? describeBrowser(e.userAgent) : undefined;
  return {
    iso,
    utc: `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`,
    type: e.type,
    count: e.count,
    person: e.userEmail ?? e.userId ?? '',
    actor: e.actor === 'user' ? 'the person' : e.actor === 'cli' ? 'sesame command' : e.actor.replace(/^admin:/, ''),
    ip: e.ip ?? '',
    browser: browser ? `${browser.browser} on ${browser.os}` : undefined,
    detail: Object.entries(e.detail).map(([key, value]) => [key, Array.isArray(value) ? value.join(', ') : value === null ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value)]),
  };
}
