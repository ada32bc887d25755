import { randomId } from '../ids.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { EMAIL_VERIFICATION_SETTINGS, SIGNUP_SETTINGS, policyOf, type SignupSetting, type EmailVerificationSetting, type Tenant, type TenantRepository } from '../storage/repositories/tenants.js';
import { authenticatorPolicySchema, type AuthenticatorPolicy } from '../webauthn/policy/authenticator-policy.js';
import { CLIENT_AUTH_METHODS, type Client, type ClientAuth, type ClientAuthMethod, type ClientRecord, type ClientRepository } from '../storage/repositories/clients.js';
import { clientSecretMatches, hashClientSecret } from '../secrets/client-secret.js';
import { checkPublicJwks } from './public-jwks.js';
import type { SigningKeyService } from '../oidc/signing-keys.js';
import { checkColour, checkLogo, logoVersion, type Logo } from './branding.js';
import { RESERVED_IDS, tenantIdProblem } from './tenant-id.js';
import { B2C_NAME_PATTERN, b2cRedirectUris, ENTRA_TENANT_ID_PATTERN, entraExternalIdRedirectUris } from './b2c.js';

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
  /** How the client authenticates at the token endpoint; client_secret_post when not given. */
  authMethod?: string;
  /** private_key_jwt: the client's public keys (a JWKS), or the https URL where it publishes them. */
  jwks?: unknown;
  jwksUri?: string;
  /** OIDC Back-Channel Logout 1.0: where logout tokens are posted (https, or http on localhost). */
  backchannelLogoutUri?: string;
  /** Ids of the groups whose members alone may sign in (checked by the caller); absent or empty: everyone. */
  allowedGroups?: string[];
  /** For a secret Sesame derives instead of keeping (the demo RP's, src/demo-rp/seed.ts); random otherwise. */
  secretFor?: (clientId: string) => string;
}

export class TenantService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly clients: ClientRepository,
    private readonly keys: SigningKeyService,
  ) {}

  async createTenant(id: string, name: string): Promise<Tenant> {
    if (tenantIdProblem(id)) {
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
    if (input.backchannelLogoutUri !== undefined) checkRedirectUri(input.backchannelLogoutUri);
    const clientId = randomId(16);
    const { auth, clientSecret } = clientCredentials(input, clientId);
    const record: ClientRecord = {
      tenantId: tenant.id,
      clientId,
      // What end users read ("Sign in to …"): never the B2C or Entra tenant's technical name.
      name: input.name?.trim() || tenant.name,
      redirectUris: [...new Set(redirectUris)],
      postLogoutRedirectUris: [...new Set(postLogout)],
      requirePkce: input.requirePkce ?? false,
      createdAt: Date.now(),
      auth,
      backchannelLogoutUri: input.backchannelLogoutUri ?? null,
      allowedGroups: input.allowedGroups ?? [],
    };
    await this.clients.insert(record);
    return { ...record, clientSecret };
  }

  /** Gives a client_secret_basic/post client the given secret, unless it has it already. */
  async setClientSecret(client: ClientRecord, secret: string): Promise<void> {
    if (client.auth.method !== 'client_secret_basic' && client.auth.method !== 'client_secret_post') {
      throw badRequest(`Client ${client.clientId} authenticates with ${client.auth.method}, not with a client secret.`);
    }
    if (clientSecretMatches(client.auth.secretHash, secret)) return;
    await this.clients.setSecretHash(client.tenantId, client.clientId, hashClientSecret(secret));
  }

  /** Sets (or, with null, removes) the URL cross-device push requests are announced to; returns the signing secret. */
  async setWebhook(tenantId: string, url: string | null): Promise<string | null> {
    await this.requireTenant(tenantId);
    if (url !== null) checkRedirectUri(url);
    const secret = url === null ? null : randomId(32);
    await this.tenants.setWebhook(tenantId, url, secret);
    return secret;
  }

  /** Turns recovery by e-mailed code on or off; recovery codes and administrators' links stay. */
  async setEmailRecovery(tenantId: string, on: boolean): Promise<void> {
    await this.requireTenant(tenantId);
    await this.tenants.setEmailRecovery(tenantId, on);
  }

  /** Whether sign-up proves the e-mail address first ('required', the default) or not ('off'). */
  async setEmailVerification(tenantId: string, setting: string): Promise<EmailVerificationSetting> {
    await this.requireTenant(tenantId);
    const known = EMAIL_VERIFICATION_SETTINGS.find((s) => s === setting);
    if (!known) throw badRequest(`E-mail verification is "required" or "off", not "${setting}".`, 'invalid_setting');
    await this.tenants.setEmailVerification(tenantId, known);
    return known;
  }

  /** Throws as changeAuthenticatorPolicy would, changing nothing. */
  async checkAuthenticatorPolicy(tenantId: string, change: Partial<AuthenticatorPolicy>): Promise<AuthenticatorPolicy> {
    const tenant = await this.requireTenant(tenantId);
    const parsed = authenticatorPolicySchema.safeParse({ ...policyOf(tenant), ...change });
    if (!parsed.success) throw badRequest(`This policy setting is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`, 'invalid_setting');
    return parsed.data;
  }

  /** Throws unless `colour` is a colour setBrandColour takes. */
  checkBrandColour(colour: string): string {
    return checkColour(colour);
  }

  /** Changes some of the tenant's authenticator policy (src/webauthn/policy); answers the whole policy in force. */
  async changeAuthenticatorPolicy(tenantId: string, change: Partial<AuthenticatorPolicy>): Promise<AuthenticatorPolicy> {
    const policy = await this.checkAuthenticatorPolicy(tenantId, change);
    await this.tenants.setAuthenticatorPolicy(tenantId, policy);
    return policy;
  }

  /**
   * The https origins, besides PUBLIC_URL's, whose passkey ceremonies the tenant accepts (WebAuthn
   * Related Origin Requests). Each must be a bare origin: https, a host, no path.
   */
  async setRelatedOrigins(tenantId: string, origins: string[]): Promise<string[]> {
    await this.requireTenant(tenantId);
    const checked = [...new Set(origins.map(relatedOrigin))];
    await this.tenants.setRelatedOrigins(tenantId, checked);
    return checked;
  }

  /** Every tenant's related origins, for /.well-known/webauthn (one RP ID for all tenants). */
  allRelatedOrigins(): Promise<string[]> {
    return this.tenants.allRelatedOrigins();
  }

  /** The name people read on the tenant's pages and in its mails. */
  /** 'open': anyone may create an account; 'invitation': only with an invitation link. */
  async setSignup(tenantId: string, setting: string): Promise<SignupSetting> {
    await this.requireTenant(tenantId);
    const known = SIGNUP_SETTINGS.find((s) => s === setting);
    if (!known) throw badRequest(`Sign-up is "open" or "invitation", not "${setting}".`, 'invalid_setting');
    await this.tenants.setSignup(tenantId, known);
    return known;
  }

  async setDisplayName(tenantId: string, name: string): Promise<string> {
    await this.requireTenant(tenantId);
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100) throw badRequest('A display name has 1–100 characters.', 'invalid_name');
    await this.tenants.setName(tenantId, trimmed);
    return trimmed;
  }

  /** The primary colour (#rrggbb), or null for Sesame's own. */
  async setBrandColour(tenantId: string, colour: string | null): Promise<string | null> {
    await this.requireTenant(tenantId);
    const checked = colour === null ? null : checkColour(colour);
    await this.tenants.setBrandColour(tenantId, checked);
    return checked;
  }

  /** The logo (checked again here: whatever path it came by), or null for none. */
  async setLogo(tenantId: string, logo: Logo | null): Promise<void> {
    await this.requireTenant(tenantId);
    const checked = logo && checkLogo(logo.bytes);
    await this.tenants.setLogo(tenantId, checked && { ...checked, version: logoVersion(checked.bytes) });
  }

  findLogo(tenantId: string) {
    return this.tenants.findLogo(tenantId);
  }

  listClients(tenantId: string): Promise<ClientRecord[]> {
    return this.clients.listByTenant(tenantId);
  }
}

function clientCredentials(input: NewClient, clientId: string): { auth: ClientAuth; clientSecret: string } {
  const method = (input.authMethod ?? 'client_secret_post') as ClientAuthMethod;
  if (!CLIENT_AUTH_METHODS.includes(method)) {
    throw badRequest(`"${input.authMethod}" is not a client authentication method Sesame offers: use one of ${CLIENT_AUTH_METHODS.join(', ')}.`);
  }
  // research/b2c.md §2 and §5: what each Microsoft product can send.
  if (input.b2cTenant !== undefined && method === 'client_secret_jwt') {
    throw badRequest('Azure AD B2C cannot authenticate with client_secret_jwt: use client_secret_post (user flows) or private_key_jwt (custom policies).');
  }
  if (input.entraSubdomain !== undefined && method === 'client_secret_basic') {
    throw badRequest('Entra External ID does not support client_secret_basic: use client_secret_post, client_secret_jwt or private_key_jwt.');
  }
  if (method === 'private_key_jwt') {
    if ((input.jwks === undefined) === (input.jwksUri === undefined)) {
      throw badRequest('A private_key_jwt client needs its public keys: give either --jwks <file> or --jwks-uri <url>.');
    }
    if (input.jwksUri !== undefined) {
      checkRedirectUri(input.jwksUri);
      return { auth: { method, jwksUri: input.jwksUri }, clientSecret: '' };
    }
    return { auth: { method, jwks: checkPublicJwks(input.jwks) }, clientSecret: '' };
  }
  if (input.jwks !== undefined || input.jwksUri !== undefined) {
    throw badRequest(`--jwks and --jwks-uri are for private_key_jwt clients, not for ${method}.`);
  }
  // URL-safe alphabet, so Basic auth works with or without form-encoding (research/b2c.md §2).
  const secret = input.secretFor?.(clientId) ?? randomId(32);
  const auth: ClientAuth = method === 'client_secret_jwt' ? { method, secret } : { method, secretHash: hashClientSecret(secret) };
  return { auth, clientSecret: secret };
}

export function checkRedirectUri(uri: string): void {
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
  // href, not hash: an empty fragment ("…/callback#") has no hash but still makes oidc-provider refuse the whole client.
  if (url.href.includes('#')) throw badRequest(`"${uri}" must not contain a #fragment.`);
}

function relatedOrigin(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || url.protocol !== 'https:' || url.username || url.password || url.origin !== value.replace(/\/$/, '').toLowerCase()) {
    throw badRequest(`"${value}" is not an https origin: give it as https://host or https://host:port, with no path.`, 'invalid_setting');
  }
  return url.origin;
}
