import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import { badRequest } from '../../../errors.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import type { ClaimDefinition } from '../../../storage/repositories/groups.js';
import { CLAIM_TYPES, MAX_CLAIM_DEFINITIONS, type ClaimType } from '../../../accounts/custom-claims.js';
import { MAX_GROUP_NAME_LENGTH } from '../../../accounts/groups.js';
import { flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

const groupForm = z.object({ name: z.string().trim().min(1, 'Give the group a name.').max(MAX_GROUP_NAME_LENGTH) });
const claimForm = z.object({ name: z.string().trim().min(1, 'Give the claim a name.').max(64), type: z.enum(CLAIM_TYPES) });
const claimNameForm = z.object({ name: z.string().trim().min(1).max(64) });
const memberForm = z.object({ email: z.string().trim().min(1, 'Give the person\'s e-mail address.').max(254) });
const userIdForm = z.object({ userId: z.string().min(1).max(100) });
const confirmForm = z.object({ confirm: z.literal('yes', { errorMap: () => ({ message: 'Tick the box to confirm.' }) }) });

export const CLAIM_TYPE_TEXT: Record<ClaimType, string> = {
  string: 'Text',
  number: 'Number',
  boolean: 'Yes or no',
  string_array: 'List of texts (one a line)',
};

/** The form's fields for claim values (`claim_<name>`: qs reads dots as nesting), checked against their definitions: an empty field is no value. */
export function claimValuesOf(body: unknown, definitions: ClaimDefinition[]): Record<string, unknown> {
  const fields = (body ?? {}) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const d of definitions) {
    const raw = fields[`claim_${d.name}`];
    if (typeof raw !== 'string' || raw.trim() === '') continue;
    const text = raw.slice(0, 100_000);
    switch (d.type as ClaimType) {
      case 'string': values[d.name] = text.trim(); break;
      case 'number': {
        const n = Number(text.trim());
        if (!Number.isFinite(n)) throw badRequest(`Claim "${d.name}" is a number; "${text.trim().slice(0, 60)}" is not one.`, 'invalid_claim_value');
        values[d.name] = n;
        break;
      }
      case 'boolean':
        if (text !== 'true' && text !== 'false') throw badRequest(`Claim "${d.name}" is yes or no.`, 'invalid_claim_value');
        values[d.name] = text === 'true';
        break;
      case 'string_array': values[d.name] = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean); break;
    }
  }
  return values;
}

/** What a claim-values form shows: each defined claim, with its value as the field holds it. */
export function claimFields(definitions: ClaimDefinition[], values: Record<string, unknown>, typed?: Record<string, unknown>) {
  return definitions.map((d) => {
    const own = typed?.[`claim_${d.name}`];
    const value = values[d.name];
    const text = typeof own === 'string' ? own.slice(0, 5000)
      : value === undefined ? '' : Array.isArray(value) ? value.join('\n') : String(value);
    return { name: d.name, type: d.type, typeText: CLAIM_TYPE_TEXT[d.type as ClaimType] ?? d.type, field: `claim_${d.name}`, id: `claim-${d.name}`, value: text };
  });
}

type GroupsDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'groups' | 'customClaims' | 'userAdmin'>;

/** A tenant's groups (their members and claim values) and its custom claims' definitions. */
export function adminGroupRoutes(deps: GroupsDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);
  const groupPath = (tenant: Tenant, groupId: string) => tenantPath(tenant, `groups/${encodeURIComponent(groupId)}`);

  const showList = async (ctx: Context, tenant: Tenant, error?: string, values: Record<string, unknown> = {}) => {
    const [groups, definitions] = await Promise.all([deps.groups.list(tenant.id), deps.customClaims.definitions(tenant.id)]);
    const typed = (key: string) => (typeof values[key] === 'string' ? String(values[key]).slice(0, 200) : '');
    renderConsole(ctx, 'groups', {
      title: `Groups and claims · ${tenant.name}`, tenant, current: 'groups', script: 'admin', error,
      flash: flashOf(ctx, {
        deleted: 'The group is deleted. Its members keep their accounts.',
        defined: 'The claim is saved. Give it values on a group\'s or a person\'s page.',
        undefined: 'The claim is removed: tokens no longer carry it.',
      }),
      base: tenantPath(tenant, 'groups'),
      groups: groups.map((g) => ({ ...g, href: groupPath(tenant, g.id), claimNames: Object.keys(g.claims).join(', ') })),
      definitions: definitions.map((d) => ({ ...d, typeText: CLAIM_TYPE_TEXT[d.type as ClaimType] ?? d.type })),
      claimTypes: CLAIM_TYPES.map((t) => ({ value: t, label: CLAIM_TYPE_TEXT[t] })),
      maxClaims: MAX_CLAIM_DEFINITIONS,
      values: { groupName: typed('groupName'), claimName: typed('claimName'), claimType: typed('type') || 'string' },
    });
  };

  const showGroup = async (ctx: Context, tenant: Tenant, groupId: string, error?: string, typed?: Record<string, unknown>) => {
    const [group, definitions] = await Promise.all([deps.groups.get(tenant.id, groupId), deps.customClaims.definitions(tenant.id)]);
    renderConsole(ctx, 'group', {
      title: `${group.name} · ${tenant.name}`, tenant, current: 'groups', script: 'admin', error,
      flash: flashOf(ctx, {
        created: 'The group is created. Add its members and its claim values below.',
        renamed: 'The name is saved.',
        claims: 'The claim values are saved: they are in the next ID tokens of the group\'s members.',
        added: 'The person is now a member.',
        removed: 'The person is no longer a member.',
      }),
      group, base: groupPath(tenant, group.id), groupsHref: tenantPath(tenant, 'groups'),
      members: group.members.map((m) => ({ ...m, href: tenantPath(tenant, `users/${encodeURIComponent(m.id)}`) })),
      claims: claimFields(definitions, group.claims, typed),
      email: typeof typed?.email === 'string' ? typed.email.slice(0, 254) : '',
    });
  };

  router.get('/admin/tenants/:tenant/groups', signedIn, async (ctx) => {
    await showList(ctx, await tenantFor(ctx, deps.tenants));
  });

  router.post('/admin/tenants/:tenant/groups', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    await formAction(ctx, async () => {
      const form = parseInput(groupForm, raw);
      const group = await deps.groups.create(tenant.id, { name: form.name });
      return `${groupPath(tenant, group.id)}?done=created`;
    }, (error) => showList(ctx, tenant, error, { groupName: raw.name }));
  });

  router.post('/admin/tenants/:tenant/claims', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    await formAction(ctx, async () => {
      const form = parseInput(claimForm, raw);
      await deps.customClaims.define(tenant.id, form.name, form.type);
      return `${tenantPath(tenant, 'groups')}?done=defined`;
    }, (error) => showList(ctx, tenant, error, { claimName: raw.name, type: raw.type }));
  });

  router.post('/admin/tenants/:tenant/claims/remove', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      const form = parseInput(claimNameForm, ctx.request.body);
      await deps.customClaims.undefine(tenant.id, form.name);
      return `${tenantPath(tenant, 'groups')}?done=undefined`;
    }, (error) => showList(ctx, tenant, error));
  });

  router.get('/admin/tenants/:tenant/groups/:groupId', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await showGroup(ctx, tenant, ctx.params.groupId!);
  });

  /** One of a group's forms: done, back to its page with the message; refused, its page with the reason (and what was typed). */
  const action = (done: string, act: (tenant: Tenant, groupId: string, body: Record<string, unknown>) => Promise<string | void>) => async (ctx: Context) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const group = await deps.groups.get(tenant.id, ctx.params.groupId!);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    await formAction(ctx, async () => (await act(tenant, group.id, body)) ?? `${groupPath(tenant, group.id)}?done=${done}`,
      (error) => showGroup(ctx, tenant, group.id, error, body));
  };

  router.post('/admin/tenants/:tenant/groups/:groupId/rename', signedIn, action('renamed', async (tenant, groupId, body) => {
    await deps.groups.update(tenant.id, groupId, { name: parseInput(groupForm, body).name });
  }));
  router.post('/admin/tenants/:tenant/groups/:groupId/claims', signedIn, action('claims', async (tenant, groupId, body) => {
    await deps.groups.update(tenant.id, groupId, { claims: claimValuesOf(body, await deps.customClaims.definitions(tenant.id)) });
  }));
  router.post('/admin/tenants/:tenant/groups/:groupId/members', signedIn, action('added', async (tenant, groupId, body) => {
    const { email } = parseInput(memberForm, body);
    const found = await deps.userAdmin.search(tenant.id, { query: email, limit: 20 });
    const user = found.users.find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (!user) throw badRequest(`Nobody in ${tenant.name} has the address ${email}. They need an account before they can join a group.`, 'unknown_user');
    await deps.groups.addMember(tenant.id, groupId, user.id);
  }));
  router.post('/admin/tenants/:tenant/groups/:groupId/members/remove', signedIn, action('removed', async (tenant, groupId, body) => {
    await deps.groups.removeMember(tenant.id, groupId, parseInput(userIdForm, body).userId);
  }));
  router.post('/admin/tenants/:tenant/groups/:groupId/delete', signedIn, action('deleted', async (tenant, groupId, body) => {
    parseInput(confirmForm, body);
    await deps.groups.delete(tenant.id, groupId);
    return `${tenantPath(tenant, 'groups')}?done=deleted`;
  }));

  return router;
}
