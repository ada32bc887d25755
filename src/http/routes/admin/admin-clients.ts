import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import { issuerFor } from '../../../oidc/issuer.js';
import type { Tenant } from '../../../storage/repositories/tenants.js';
import type { ClientSummary, CreatedClient } from '../../../tenants/client-administration.js';
import type { RelyingPartySetup } from '../../../tenants/relying-party-setup.js';
import { CLIENT_AUTH_METHODS } from '../../../storage/repositories/clients.js';
import { adminOf, flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

/** A textarea's lines (one URI a line; blank lines ignored). */
const lines = z.string().max(50_000).default('').transform((text) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
const optional = (max: number) => z.string().trim().max(max).optional().transform((v) => v || undefined);

const createForm = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('b2c'), b2cTenant: z.string().trim().min(1, 'Give the B2C tenant name.').max(61) }),
  z.object({ kind: z.literal('entra'), entraSubdomain: z.string().trim().min(1, 'Give the External ID subdomain.').max(61), entraTenantId: optional(36) }),
  z.object({
    kind: z.literal('other'),
    name: optional(100),
    redirectUris: lines,
    postLogoutRedirectUris: lines,
    authMethod: z.enum(CLIENT_AUTH_METHODS).default('client_secret_post'),
    jwksUri: optional(2000),
    requirePkce: z.literal('on').optional(),
  }),
]);
const urisForm = z.object({ redirectUris: lines, postLogoutRedirectUris: lines });
/** A form's checkboxes of one name: absent, one value or several. */
const many = z.union([z.string(), z.array(z.string())]).optional().transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
const accessForm = z.object({ backchannelLogoutUri: optional(2000), allowedGroups: many });
const confirmForm = z.object({ confirm: z.literal('yes', { errorMap: () => ({ message: 'Tick the box to confirm.' }) }) });

const AUTH_METHODS = [
  { value: 'client_secret_post', label: 'client_secret_post: the secret in the request body (B2C user flows)' },
  { value: 'client_secret_basic', label: 'client_secret_basic: the secret in an Authorization header' },
  { value: 'client_secret_jwt', label: 'client_secret_jwt: a JWT signed with the secret' },
  { value: 'private_key_jwt', label: 'private_key_jwt: a JWT signed with the application\'s own key' },
];

const SETUP_TITLES: Record<RelyingPartySetup['product'], string> = {
  'azure-ad-b2c': 'In Azure AD B2C',
  'entra-external-id': 'In Entra External ID',
  'openid-connect': 'In your application',
};

type ClientsDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'clientAdmin' | 'groups' | 'mail' | 'config'>;

/** What the dashboard's "Connect Azure AD B2C" form needs. */
export function connectB2c(tenant: Tenant, clientCount: number, b2cTenant?: string, level: 2 | 3 = 2) {
  return { action: tenantPath(tenant, 'clients'), clientsHref: tenantPath(tenant, 'clients'), clientCount, b2cTenant, level };
}

/**
 * A tenant's applications (OIDC clients): list, create (B2C, External ID or any relying party, with
 * the secret shown once and the values for the product's form), redirect URIs, a new secret, delete.
 */
export function adminClientRoutes(deps: ClientsDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);
  const clientPath = (tenant: Tenant, clientId: string) => tenantPath(tenant, `clients/${encodeURIComponent(clientId)}`);

  const showList = async (ctx: Context, tenant: Tenant, error?: string, values: Record<string, unknown> = {}) => {
    const clients = await deps.clientAdmin.list(tenant.id);
    renderConsole(ctx, 'clients', {
      title: `Applications · ${tenant.name}`, tenant, current: 'clients', script: 'admin', error,
      flash: flashOf(ctx, { deleted: 'The application is deleted.' }),
      clients: clients.map((c) => ({ ...c, href: clientPath(tenant, c.clientId), createdAt: new Date(c.createdAt).toISOString() })),
      connect: connectB2c(tenant, clients.length, typeof values.b2cTenant === 'string' ? values.b2cTenant : undefined, 3),
      createAction: tenantPath(tenant, 'clients'),
      authMethods: AUTH_METHODS,
      values: {
        name: '', redirectUris: '', postLogoutRedirectUris: '', authMethod: 'client_secret_post', jwksUri: '', entraSubdomain: '', entraTenantId: '',
        ...Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'string').map(([k, v]) => [k, String(v).slice(0, 5000)])),
        requirePkce: values.requirePkce === 'on',
      },
    });
  };

  const showClient = async (ctx: Context, tenant: Tenant, client: ClientSummary, error?: string) => {
    const allowed = new Set(client.allowedGroups);
    renderConsole(ctx, 'client', {
      title: `${client.name} · ${tenant.name}`, tenant, current: 'clients', script: 'admin', error,
      flash: flashOf(ctx, { uris: 'The redirect URIs are saved.', access: 'Who may sign in and the back-channel logout URI are saved.' }),
      groups: (await deps.groups.list(tenant.id)).map((g) => ({ id: g.id, name: g.name, checked: allowed.has(g.id) })),
      groupsHref: tenantPath(tenant, 'groups'),
      client,
      base: clientPath(tenant, client.clientId),
      metadataUrl: `${issuerFor(deps.config.publicUrl, tenant.id)}/.well-known/openid-configuration`,
      createdAt: new Date(client.createdAt).toISOString(),
      redirectUris: client.redirectUris.join('\n'),
      postLogoutRedirectUris: client.postLogoutRedirectUris.join('\n'),
    });
  };

  /** The page that shows a secret, once: never cached, never reached again. */
  const showSecret = (ctx: Context, tenant: Tenant, created: { client: ClientSummary; clientSecret?: string; setup: RelyingPartySetup[] }, how: { heading: string; intro: string; mailedTo?: string }) => {
    renderConsole(ctx, 'client-created', {
      title: `${how.heading} · ${tenant.name}`, tenant, current: 'clients', ...how,
      client: created.client,
      clientSecret: created.clientSecret,
      setup: created.setup.map((s) => ({
        product: s.product, title: SETUP_TITLES[s.product], where: s.where, notes: s.notes,
        fields: s.fields.map((f) => ({ label: f.group ? `${f.group}: ${f.label}` : f.label, value: f.value })),
      })),
      clientHref: clientPath(tenant, created.client.clientId),
    });
  };

  router.get('/admin/tenants/:tenant/clients', signedIn, async (ctx) => {
    await showList(ctx, await tenantFor(ctx, deps.tenants));
  });

  router.post('/admin/tenants/:tenant/clients', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    await formAction(ctx, async () => {
      const form = parseInput(createForm, raw);
      const created = await deps.clientAdmin.create(tenant.id, form.kind === 'b2c' ? { b2cTenant: form.b2cTenant }
        : form.kind === 'entra' ? { entraSubdomain: form.entraSubdomain, entraTenantId: form.entraTenantId }
        : {
          name: form.name, redirectUris: form.redirectUris, postLogoutRedirectUris: form.postLogoutRedirectUris,
          authMethod: form.authMethod, jwksUri: form.jwksUri, requirePkce: form.requirePkce === 'on',
        });
      const admin = adminOf(ctx);
      await mailDetails(deps, tenant, created, admin.email);
      showSecret(ctx, tenant, created, {
        heading: `“${created.client.name}” is created`,
        intro: created.clientSecret ? 'Copy the client secret now: it is shown only on this page.' : 'This client authenticates with its own keys: it has no secret.',
        mailedTo: admin.email,
      });
    }, (error) => showList(ctx, tenant, error, raw));
  });

  router.get('/admin/tenants/:tenant/clients/:clientId', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await showClient(ctx, tenant, await deps.clientAdmin.get(tenant.id, ctx.params.clientId!));
  });

  router.post('/admin/tenants/:tenant/clients/:clientId/redirect-uris', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const client = await deps.clientAdmin.get(tenant.id, ctx.params.clientId!);
    await formAction(ctx, async () => {
      const form = parseInput(urisForm, ctx.request.body);
      await deps.clientAdmin.setRedirectUris(tenant.id, client.clientId, form);
      return `${clientPath(tenant, client.clientId)}?done=uris`;
    }, (error) => showClient(ctx, tenant, client, error));
  });

  router.post('/admin/tenants/:tenant/clients/:clientId/access', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const client = await deps.clientAdmin.get(tenant.id, ctx.params.clientId!);
    await formAction(ctx, async () => {
      const form = parseInput(accessForm, ctx.request.body);
      await deps.clientAdmin.setAccess(tenant.id, client.clientId, { backchannelLogoutUri: form.backchannelLogoutUri ?? null, allowedGroups: form.allowedGroups });
      return `${clientPath(tenant, client.clientId)}?done=access`;
    }, (error) => showClient(ctx, tenant, client, error));
  });

  router.post('/admin/tenants/:tenant/clients/:clientId/rotate-secret', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const client = await deps.clientAdmin.get(tenant.id, ctx.params.clientId!);
    await formAction(ctx, async () => {
      parseInput(confirmForm, ctx.request.body);
      const rotated = await deps.clientAdmin.rotateSecret(tenant.id, client.clientId);
      showSecret(ctx, tenant, { ...rotated, setup: [] }, {
        heading: `A new secret for “${client.name}”`,
        intro: 'The old secret no longer works. Copy the new one now: it is shown only on this page.',
      });
    }, (error) => showClient(ctx, tenant, client, error));
  });

  router.post('/admin/tenants/:tenant/clients/:clientId/delete', signedIn, async (ctx) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    const client = await deps.clientAdmin.get(tenant.id, ctx.params.clientId!);
    await formAction(ctx, async () => {
      parseInput(confirmForm, ctx.request.body);
      await deps.clientAdmin.delete(tenant.id, client.clientId);
      return `${tenantPath(tenant, 'clients')}?done=deleted`;
    }, (error) => showClient(ctx, tenant, client, error));
  });

  return router;
}

/** The new client's details for the administrator's records, by mail: every value but the secret. */
async function mailDetails(deps: Pick<ClientsDeps, 'mail' | 'config'>, tenant: Tenant, created: CreatedClient, to: string): Promise<void> {
  const fields = created.setup.flatMap((s) => s.fields.filter((f) => f.label !== 'Client secret')
    .map((f) => ({ label: `${s.product === 'openid-connect' ? '' : `${SETUP_TITLES[s.product]}, `}${f.group ? `${f.group}: ` : ''}${f.label}`, value: f.value })));
  fields.push(...created.client.redirectUris.map((uri) => ({ label: 'Redirect URI', value: uri })));
  await deps.mail.enqueue({
    tenantId: tenant.id, to, template: 'client-created',
    data: { clientName: created.client.name, createdBy: to, consoleUrl: `${deps.config.publicUrl}${tenantPath(tenant, `clients/${encodeURIComponent(created.client.clientId)}`)}`, fields: fields.slice(0, 40) },
  });
}
