import { randomId } from '../ids.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { Tenant, TenantRepository } from '../storage/repositories/tenants.js';
import type { Client, ClientRepository } from '../storage/repositories/clients.js';
import type { SigningKeyService } from '../oidc/signing-keys.js';
import { B2C_NAME_PATTERN, b2cRedirectUris, ENTRA_TENANT_ID_PATTERN, entraExternalIdRedirectUris } from './b2c.js';

/** Tenant ids become URL path segments; these are taken by Sesame's own routes. */
const RESERVED_IDS = new Set(['demo-rp', 'healthz', 'readyz', 'metrics', 'static', 'assets', 'admin', 'api', 'favicon.ico', 'robots.txt']);
export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export interface NewClient {
  tenantId: string;
  name?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  requirePkce?: boolean;
  /** Azure AD B2C tenant name (the `contoso` of contoso.onmicrosoft.com): registers its redirect URIs. */
  b2cTenant?: string;
  /** Entra External ID subdomain (the `contoso` of contoso.ciamlogin.com), and optionally its tenant id. */
  entraSubdomain?: string;
  entraTenantId?: string;
}

export class TenantService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly clients: ClientRepository,
    private readonly keys: SigningKeyService,
  ) {}

  async createTenant(id: string, name: string): Promise<Tenant> {
    if (!TENANT_ID_PATTERN.test(id) || RESERVED_IDS.has(id)) {
      throw badRequest(`"${id}" cannot be a tenant id: use 1–40 lower-case letters, digits and hyphens (not at the ends), and none of ${[...RESERVED_IDS].join(', ')}.`);
    }
    if (!name.trim()) throw badRequest('A tenant needs a display name (--name).');
    if (await this.tenants.find(id)) throw conflict(`A tenant called "${id}" already exists.`);
    const tenant: Tenant = { id, name: name.trim(), cookieKeys: [randomId(32)], createdAt: Date.now() };
    await this.tenants.insert(tenant);
    await this.keys.createKey(id, tenant.createdAt);
    return tenant;
  }

  async requireTenant(id: string): Promise<Tenant> {
    const tenant = await this.tenants.find(id);
    if (!tenant) throw notFound(`There is no tenant called "${id}".`, 'unknown_tenant');
    return tenant;
  }

  findTenant(id: string): Promise<Tenant | undefined> {
    return this.tenants.find(id);
  }

  listTenants(): Promise<Tenant[]> {
    return this.tenants.list();
  }

  async createClient(input: NewClient): Promise<Client> {
    const tenant = await this.requireTenant(input.tenantId);
    const redirectUris = [...input.redirectUris];
    if (input.b2cTenant !== undefined) {
      if (!B2C_NAME_PATTERN.test(input.b2cTenant)) {
        throw badRequest(`"${input.b2cTenant}" is not a B2C tenant name: give the part before .onmicrosoft.com, e.g. contoso.`);
      }
      redirectUris.push(...b2cRedirectUris(input.b2cTenant));
    }
    if (input.entraSubdomain !== undefined) {
      if (!B2C_NAME_PATTERN.test(input.entraSubdomain)) {
        throw badRequest(`"${input.entraSubdomain}" is not an External ID subdomain: give the part before .ciamlogin.com, e.g. contoso.`);
      }
      if (input.entraTenantId !== undefined && !ENTRA_TENANT_ID_PATTERN.test(input.entraTenantId)) {
        throw badRequest(`"${input.entraTenantId}" is not a tenant id: it looks like 00000000-0000-0000-0000-000000000000.`);
      }
      redirectUris.push(...entraExternalIdRedirectUris(input.entraSubdomain, input.entraTenantId));
    }
    if (redirectUris.length === 0) throw badRequest('A client needs at least one redirect URI (--redirect-uri, --b2c or --entra).');
    const postLogout = input.postLogoutRedirectUris ?? [];
    for (const uri of [...redirectUris, ...postLogout]) checkRedirectUri(uri);
    const client: Client = {
      tenantId: tenant.id,
      clientId: randomId(16),
      // URL-safe alphabet, so Basic auth works with or without form-encoding (research/b2c.md §2).
      clientSecret: randomId(32),
      name: input.name?.trim() || (input.b2cTenant ? `Azure AD B2C (${input.b2cTenant})` : input.entraSubdomain ? `Entra External ID (${input.entraSubdomain})` : 'Relying party'),
      redirectUris: [...new Set(redirectUris)],
      postLogoutRedirectUris: [...new Set(postLogout)],
      requirePkce: input.requirePkce ?? false,
      createdAt: Date.now(),
    };
    await this.clients.insert(client);
    return client;
  }

  /** Sets (or, with null, removes) the URL cross-device push requests are announced to; returns the signing secret. */
  async setWebhook(tenantId: string, url: string | null): Promise<string | null> {
    await this.requireTenant(tenantId);
    if (url !== null) checkRedirectUri(url);
    const secret = url === null ? null : randomId(32);
    await this.tenants.setWebhook(tenantId, url, secret);
    return secret;
  }

  listClients(tenantId: string): Promise<Client[]> {
    return this.clients.listByTenant(tenantId);
  }
}

function checkRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badRequest(`"${uri}" is not an absolute URL.`);
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw badRequest(`"${uri}" must use https:// (http:// is allowed for localhost only).`);
  }
  if (url.hash) throw badRequest(`"${uri}" must not contain a #fragment.`);
}
