import { randomId } from '../ids.js';
import { badRequest, notFound } from '../errors.js';
import { hashClientSecret } from '../secrets/client-secret.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ClientAuthMethod, ClientRecord, ClientRepository } from '../storage/repositories/clients.js';
import { checkRedirectUri, type TenantService } from './tenant-service.js';
import type { GroupService } from '../accounts/groups.js';
import { relyingPartySetup, type RelyingPartySetup } from './relying-party-setup.js';
import type { ForgottenClient } from '../oidc/adapter.js';

/** A client as administrators see it: never its secret. */
export interface ClientSummary {
  tenantId: string;
  clientId: string;
  name: string;
  authMethod: ClientAuthMethod;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  requirePkce: boolean;
  createdAt: number;
  /** Where OIDC Back-Channel Logout tokens go, or null. */
  backchannelLogoutUri: string | null;
  /** Only members of these groups may sign in to it; empty: everyone. */
  allowedGroups: string[];
}

export interface ClientCreation {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  requirePkce?: boolean;
  /** Azure AD B2C tenant name (contoso of contoso.onmicrosoft.com): its redirect URIs and the values for its form. */
  b2cTenant?: string;
  /** Entra External ID subdomain (contoso of contoso.ciamlogin.com), optionally with its directory id. */
  entraSubdomain?: string;
  entraTenantId?: string;
  authMethod?: ClientAuthMethod;
  /** private_key_jwt: the client's public JWKS, or the https URL it publishes it at. */
  jwks?: unknown;
  jwksUri?: string;
  backchannelLogoutUri?: string;
  allowedGroups?: string[];
}

export interface ClientAccess {
  /** null removes it. */
  backchannelLogoutUri?: string | null;
  allowedGroups?: string[];
}

export interface CreatedClient {
  client: ClientSummary;
  /** Shown once, here: Sesame keeps only its hash (none for private_key_jwt). */
  clientSecret?: string;
  /** What to type into B2C's / External ID's form, or a relying party's settings. */
  setup: RelyingPartySetup[];
}

/** Redirect URIs a client may have at most, and their length: bounds what one administrator request may store. */
export const MAX_REDIRECT_URIS = 20;
export const MAX_URI_LENGTH = 2000;

/**
 * The clients of a tenant, as the admin console and the admin API manage them: list, create (the
 * secret and the B2C / External ID values once), rotate the secret, replace redirect URIs, delete.
 * Every change is an audit event and is announced to every node's read cache (ClientRepository),
 * which is all oidc-provider needs: it reads clients through the adapter (design decision 1).
 */
export class ClientAdministration {
  constructor(
    private readonly tenants: TenantService,
    private readonly clients: ClientRepository,
    private readonly groups: Pick<GroupService, 'requireGroups'>,
    private readonly audit: AuditLog,
    private readonly publicUrl: string,
    /** Removes the client's grants, codes, tokens and its place in sessions (forgetClient in src/oidc/adapter.ts). */
    private readonly forgetClient: (tenantId: string, clientId: string) => Promise<ForgottenClient>,
  ) {}

  async list(tenantId: string): Promise<ClientSummary[]> {
    await this.tenants.requireTenant(tenantId);
    return (await this.clients.listByTenant(tenantId)).map(summary);
  }

  async get(tenantId: string, clientId: string): Promise<ClientSummary> {
    return summary(await this.require(tenantId, clientId));
  }

  async create(tenantId: string, input: ClientCreation): Promise<CreatedClient> {
    checkUriCount([...(input.redirectUris ?? []), ...(input.postLogoutRedirectUris ?? [])]);
    await this.tenants.requireTenant(tenantId);
    const allowedGroups = input.allowedGroups && await this.groups.requireGroups(tenantId, input.allowedGroups);
    const client = await this.tenants.createClient({ tenantId, ...input, allowedGroups, redirectUris: input.redirectUris ?? [] });
    await this.audit.record({ type: 'admin.client_created', tenantId, detail: { clientId: client.clientId, name: client.name, authMethod: client.auth.method, redirectUris: client.redirectUris } });
    const hasSecret = client.auth.method !== 'private_key_jwt';
    return {
      client: summary(client),
      ...(hasSecret ? { clientSecret: client.clientSecret } : {}),
      setup: relyingPartySetup(this.publicUrl, {
        tenantId, clientId: client.clientId, authMethod: client.auth.method, clientSecret: hasSecret ? client.clientSecret : undefined,
        b2cTenant: input.b2cTenant, entraSubdomain: input.entraSubdomain,
      }),
    };
  }

  /** A new secret for a client that has one; the old one stops working at once (on every node, through the read cache). */
  async rotateSecret(tenantId: string, clientId: string): Promise<{ client: ClientSummary; clientSecret: string }> {
    const client = await this.require(tenantId, clientId);
    if (client.auth.method === 'private_key_jwt') {
      throw badRequest(`Client ${clientId} authenticates with private_key_jwt: it has no secret to rotate (it publishes its own keys).`, 'no_client_secret');
    }
    const secret = randomId(32);
    await this.clients.replaceSecret(client, secret, hashClientSecret);
    await this.audit.record({ type: 'admin.client_secret_rotated', tenantId, detail: { clientId } });
    return { client: summary(client), clientSecret: secret };
  }

  /** Replaces the client's redirect URIs (and, when given, its post-logout redirect URIs), each checked as at creation. */
  async setRedirectUris(tenantId: string, clientId: string, uris: { redirectUris: string[]; postLogoutRedirectUris?: string[] }): Promise<ClientSummary> {
    const client = await this.require(tenantId, clientId);
    const redirectUris = [...new Set(uris.redirectUris)];
    const postLogout = [...new Set(uris.postLogoutRedirectUris ?? client.postLogoutRedirectUris)];
    if (redirectUris.length === 0) throw badRequest('A client needs at least one redirect URI.', 'invalid_redirect_uri');
    checkUriCount([...redirectUris, ...postLogout]);
    for (const uri of [...redirectUris, ...postLogout]) checkRedirectUri(uri);
    await this.clients.setRedirectUris(tenantId, clientId, redirectUris, postLogout);
    await this.audit.record({ type: 'admin.client_changed', tenantId, detail: { clientId, redirectUris, postLogoutRedirectUris: postLogout } });
    return { ...summary(client), redirectUris, postLogoutRedirectUris: postLogout };
  }

  /**
   * Throws if setAccess would refuse the change; lets a caller that changes several things check
   * them all before it writes any (the admin API's PATCH of a client).
   */
  async checkAccess(tenantId: string, change: ClientAccess): Promise<void> {
    if (change.backchannelLogoutUri) {
      checkUriCount([change.backchannelLogoutUri]);
      checkRedirectUri(change.backchannelLogoutUri);
    }
    if (change.allowedGroups) await this.groups.requireGroups(tenantId, change.allowedGroups);
  }

  /** Changes where back-channel logout tokens go and which groups' members may sign in (what is not given stays). */
  async setAccess(tenantId: string, clientId: string, change: ClientAccess): Promise<ClientSummary> {
    const client = await this.require(tenantId, clientId);
    await this.checkAccess(tenantId, change);
    const backchannelLogoutUri = change.backchannelLogoutUri === undefined ? client.backchannelLogoutUri ?? null : change.backchannelLogoutUri;
    const allowedGroups = change.allowedGroups === undefined ? client.allowedGroups ?? [] : [...new Set(change.allowedGroups)];
    await this.clients.setAccess(tenantId, clientId, { backchannelLogoutUri, allowedGroups });
    await this.audit.record({ type: 'admin.client_changed', tenantId, detail: { clientId, backchannelLogoutUri, allowedGroups } });
    return { ...summary(client), backchannelLogoutUri, allowedGroups };
  }

  async delete(tenantId: string, clientId: string): Promise<void> {
    const client = await this.require(tenantId, clientId);
    await this.clients.delete(tenantId, clientId);
    // After the client: from here no new code or token can be issued to it, so none is left behind.
    const forgotten = await this.forgetClient(tenantId, clientId);
    await this.audit.record({ type: 'admin.client_deleted', tenantId, detail: { clientId, name: client.name, ...forgotten } });
  }

  private async require(tenantId: string, clientId: string): Promise<ClientRecord> {
    await this.tenants.requireTenant(tenantId);
    const client = await this.clients.find(tenantId, clientId);
    if (!client) throw notFound(`Tenant "${tenantId}" has no client "${clientId}".`, 'unknown_client');
    return client;
  }
}

export function summary(client: ClientRecord): ClientSummary {
  return {
    tenantId: client.tenantId,
    clientId: client.clientId,
    name: client.name,
    authMethod: client.auth.method,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    requirePkce: client.requirePkce,
    createdAt: client.createdAt,
    backchannelLogoutUri: client.backchannelLogoutUri ?? null,
    allowedGroups: client.allowedGroups ?? [],
  };
}

function checkUriCount(uris: string[]): void {
  if (uris.length > MAX_REDIRECT_URIS) throw badRequest(`A client has at most ${MAX_REDIRECT_URIS} redirect URIs.`, 'invalid_redirect_uri');
  const long = uris.find((u) => u.length > MAX_URI_LENGTH);
  if (long) throw badRequest(`A redirect URI has at most ${MAX_URI_LENGTH} characters.`, 'invalid_redirect_uri');
}
