import type { Context, Middleware } from 'koa';
import { SesameError, notFound, unauthorized } from '../../../errors.js';
import { renderPage } from '../../../views/render.js';
import { administers, isOperator, type AdminAccounts } from '../../../admin/admin-accounts.js';
import type { Admin } from '../../../admin/admin-repository.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import type { TenantService } from '../../../tenants/tenant-service.js';
import { setAuditActor } from '../../../audit/audit-context.js';

/** The console session's cookie: HttpOnly, SameSite=Strict, only sent to /admin. */
export const ADMIN_COOKIE = 'sesame_admin';
/** Binds the sign-in ceremony to this browser (the console has no OIDC interaction to bind to). */
export const ADMIN_CEREMONY_COOKIE = 'sesame_admin_ceremony';

export function adminCookieOptions(ctx: Context, maxAgeMs: number) {
  return { httpOnly: true, sameSite: 'strict' as const, secure: ctx.secure, path: '/admin', maxAge: maxAgeMs, overwrite: true };
}

/** Where an administrator starts: an operator at the tenants, a tenant's administrator at their tenant. */
export function homeOf(admin: Admin): string {
  return isOperator(admin) ? '/admin/tenants' : `/admin/tenants/${encodeURIComponent(admin.tenantId)}`;
}

/** A console path to go back to after signing in; anything else (another site, //host) is ignored. */
export function safeNext(value: unknown): string | undefined {
  return typeof value === 'string' && /^\/admin\/[A-Za-z0-9/_.~%?=&-]*$/.test(value) && !value.includes('//') ? value : undefined;
}

/**
 * Every console page and action but sign-in and enrolment: a signed-in administrator, named in the
 * audit events of the request. Pages and forms send the browser to sign in; other requests get 401.
 */
export function requireAdmin(accounts: AdminAccounts): Middleware {
  return async (ctx, next) => {
    const session = await accounts.readSession(ctx.cookies.get(ADMIN_COOKIE));
    if (!session) {
      if (ctx.method === 'GET') {
        ctx.redirect(`/admin?next=${encodeURIComponent(ctx.originalUrl)}`);
        return;
      }
      if (ctx.is('urlencoded')) {
        // A form sent after the session ended: to the sign-in page (the form's input is not kept).
        ctx.status = 303;
        ctx.redirect('/admin');
        return;
      }
      throw unauthorized('Your console session has ended. Sign in again with your passkey.', 'signin_required');
    }
    ctx.state.admin = session.admin;
    setAuditActor(`admin:${session.admin.email}`);
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}

export function adminOf(ctx: Context): Admin {
  return ctx.state.admin as Admin;
}

/**
 * The tenant of the route, if this administrator administers it. Another tenant's is answered as
 * if it did not exist: a tenant administrator learns nothing about the others.
 */
export async function tenantFor(ctx: Context, tenants: TenantService): Promise<Tenant> {
  const id = String(ctx.params.tenant);
  const tenant = administers(adminOf(ctx), id) ? await tenants.findTenant(id) : undefined;
  if (!tenant) throw notFound(`There is no tenant called "${id}" that you administer.`, 'unknown_tenant');
  return tenant;
}

const TENANT_PAGES: Array<[string, string]> = [
  ['', 'Overview'], ['clients', 'Applications'], ['users', 'Users'], ['groups', 'Groups and claims'], ['invitations', 'Invitations'], ['settings', 'Settings'],
  ['keys', 'Signing keys'], ['audit', 'Audit log'], ['admins', 'Administrators'], ['tokens', 'API tokens'],
];

export const tenantPath = (tenant: { id: string }, page = '') => `/admin/tenants/${encodeURIComponent(tenant.id)}${page ? `/${page}` : ''}`;

export interface ConsolePage {
  title: string;
  /** The tenant whose pages the navigation lists, and which of them this is. */
  tenant?: Tenant;
  current?: string;
  /** A line saying what just happened (after a redirect). */
  flash?: string;
  /** What went wrong with the form just sent. */
  error?: string;
  /** The browser bundle this page needs (public/build/<script>.js). */
  script?: string;
  [key: string]: unknown;
}

/** Renders a console page (src/views/pages/admin/<page>.eta) in the console's layout. */
export function renderConsole(ctx: Context, page: string, data: ConsolePage): void {
  const admin = ctx.state.admin as Admin | undefined;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderPage(`admin/${page}`, {
    ...data,
    nonce: ctx.state.cspNonce,
    admin: admin && { email: admin.email, operator: isOperator(admin) },
    nav: data.tenant ? TENANT_PAGES.map(([path, label]) => ({ href: tenantPath(data.tenant!, path), label, current: path === (data.current ?? '') })) : [],
  });
}

/**
 * A form's action. On success it redirects (303) to `done`; a refusal (a 4xx SesameError: bad
 * input, a conflict, a limit) shows the same page again with the message, with that status.
 */
export async function formAction(ctx: Context, action: () => Promise<string | void>, showAgain: (error: string) => Promise<void>): Promise<void> {
  let done: string | void;
  try {
    done = await action();
  } catch (caught) {
    if (!(caught instanceof SesameError) || caught.status >= 500 || caught.status === 401) throw caught;
    await showAgain(caught.message);
    ctx.status = caught.status;
    if (caught.status === 429) ctx.set('Retry-After', String(caught.retryAfterSeconds ?? 60));
    return;
  }
  if (done) {
    ctx.status = 303;
    ctx.redirect(done);
  }
}

/** The message of `?done=<key>` from a page's fixed list (never text from the URL itself). */
export function flashOf(ctx: Context, messages: Record<string, string>): string | undefined {
  const key = typeof ctx.query.done === 'string' ? ctx.query.done : undefined;
  return key && Object.hasOwn(messages, key) ? messages[key] : undefined;
}
