import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import { ClientRepository } from '../storage/repositories/clients.js';
import { UserRepository } from '../storage/repositories/users.js';
import { SqlAdapter } from './adapter.js';
import { accountFinder } from '../accounts/claims.js';
import { ACR_PHISHING_RESISTANT } from '../webauthn/amr.js';
import { renderPage } from '../views/render.js';
import { cspNonce } from '../http/csp.js';
import { issuerFor } from './issuer.js';

export interface ProviderDeps {
  db: Kysely<Schema>;
  publicUrl: string;
  trustProxy: boolean;
}

/**
 * Builds one tenant's oidc-provider. Built once per tenant (and again only when its signing keys
 * change); everything per request happens inside the provider.
 */
export function buildProvider(tenant: Tenant, jwks: { keys: Array<Record<string, unknown>> }, deps: ProviderDeps): Provider {
  const clients = new ClientRepository(deps.db);
  const users = new UserRepository(deps.db);

  const configuration: Configuration = {
    adapter: (model: string) => new SqlAdapter(deps.db, clients, tenant.id, model),
    findAccount: accountFinder(users, tenant.id),
    jwks: jwks as Configuration['jwks'],
    cookies: { keys: tenant.cookieKeys },
    // Everything B2C maps must be in the ID token (it never calls userinfo), research/b2c.md §2–3.
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    acrValues: [ACR_PHISHING_RESISTANT],
    responseTypes: ['code'],
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    pkce: { required: (_ctx, client) => client.metadata().sesame_require_pkce === true },
    extraClientMetadata: { properties: ['sesame_require_pkce'] },
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: () => false,
    rotateRefreshToken: true,
    interactions: { url: (_ctx, interaction) => `/${tenant.id}/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = renderPage('logout', { nonce: cspNonce(ctx), title: 'Sign out', tenantName: tenant.name, clientName: ctx.oidc.client?.clientName, form });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderPage('signed-out', { nonce: cspNonce(ctx), title: 'Signed out', tenantName: tenant.name, clientName: ctx.oidc.client?.clientName });
        },
      },
    },
    loadExistingGrant: grantEveryRequestedScope,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderPage('error', {
        nonce: cspNonce(ctx),
        title: 'Sign-in problem',
        heading: 'We could not complete this sign-in',
        message: out.error_description ?? 'The request was not valid.',
        hint: 'Go back to the application you came from and start the sign-in again.',
        code: out.error,
      });
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
      ClientCredentials: 600,
    },
  };

  const provider = new Provider(issuerFor(deps.publicUrl, tenant.id), configuration);
  provider.proxy = deps.trustProxy;
  provider.use(async (ctx, next) => {
    await next();
    // An address the provider has no route for (or a method it does not serve) gets a bare "Not Found" text: say it as OAuth errors are said.
    if (ctx.status === 404 && ctx.body == null) {
      ctx.body = { error: 'not_found', error_description: 'There is no OpenID Connect endpoint at this address for this method.' };
      ctx.status = 404; // setting a body would make it a 200
    }
  });
  return provider;
}

/**
 * Clients are registered by the tenant's administrator, so a signed-in user is not asked to
 * consent to them: the grant simply covers what the client asked for.
 */
async function grantEveryRequestedScope(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  if (!oidc.client || !oidc.session?.accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const grant = existing?.accountId === oidc.session.accountId
    ? existing
    : new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
  const granted = new Set((grant.getOIDCScope() ?? '').split(' '));
  const requested = String(oidc.params?.scope ?? '').split(' ').filter(Boolean);
  // A returning user's grant usually covers the request already: no write on that path.
  if (grant !== existing || requested.some((s) => !granted.has(s))) {
    grant.addOIDCScope(requested.join(' '));
    await grant.save();
  }
  return grant;
}
