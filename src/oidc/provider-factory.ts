import Provider, { interactionPolicy, type Configuration, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import { CLIENT_AUTH_METHODS, ClientRepository } from '../storage/repositories/clients.js';
import { UserRepository } from '../storage/repositories/users.js';
import { SqlAdapter } from './adapter.js';
import { accountFinder } from '../accounts/claims.js';
import { ACR_VALUES } from '../webauthn/amr.js';
import { requestedAcr } from './requested-acr.js';
import { renderPage } from '../views/render.js';
import { brandingOf } from '../tenants/branding.js';
import { cspNonce } from '../http/csp.js';
import { issuerFor } from './issuer.js';
import type { SessionRepository } from '../storage/repositories/sessions.js';
import { compareHashedClientSecrets } from './client-secret-check.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { OutboundClient } from '../net/outbound.js';
import { GroupRepository } from '../storage/repositories/groups.js';
import { CLAIMS_SCOPE } from '../accounts/custom-claims.js';

export interface ProviderDeps {
  db: Kysely<Schema>;
  /** Every outbound request of oidc-provider (back-channel logout tokens, a client's jwks_uri) goes through it. */
  outbound: OutboundClient;
  /** A user's custom claims for the `claims` scope (CustomClaims.claimsFor). */
  customClaims: (tenantId: string, userId: string) => Promise<Record<string, unknown>>;
  /** Where the passkey behind each OIDC session is recorded (removing it ends the session). */
  sessions: SessionRepository;
  publicUrl: string;
  secrets: SecretBox;
}

/**
 * Builds one tenant's oidc-provider. Built once per tenant (and again only when its signing keys
 * change); everything per request happens inside the provider.
 */
export function buildProvider(tenant: Tenant, jwks: { keys: Array<Record<string, unknown>> }, deps: ProviderDeps, customClaimNames: string[] = []): Provider {
  const clients = new ClientRepository(deps.db, deps.secrets);
  const users = new UserRepository(deps.db);
  const groups = new GroupRepository(deps.db);

  const configuration: Configuration = {
    adapter: (model: string) => new SqlAdapter(deps.db, clients, tenant.id, model),
    findAccount: onlyAdmittedAccounts(groups, tenant.id, accountFinder(users, tenant.id, (userId) => deps.customClaims(tenant.id, userId))),
    jwks: jwks as Configuration['jwks'],
    // The session cookie is scoped to the tenant's path: with the default '/', signing in to one
    // tenant replaced the browser's session at every other tenant of this server.
    cookies: { keys: tenant.cookieKeys, long: { ...crossSiteCookie(deps.publicUrl), path: `/${tenant.id}/` }, short: crossSiteCookie(deps.publicUrl) },
    // POST at the authorization and end-session endpoints (OIDC Core 3.1.2.1); the provider allows it only with SameSite=None.
    enableHttpPostMethods: deps.publicUrl.startsWith('https:'),
    // Everything B2C maps must be in the ID token (it never calls userinfo), research/b2c.md §2–3.
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name'],
      email: ['email', 'email_verified'],
      // The tenant's custom claims (docs/admin-api.md): the provider is rebuilt when their definitions change.
      [CLAIMS_SCOPE]: customClaimNames,
    },
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email', CLAIMS_SCOPE],
    acrValues: [...ACR_VALUES],
    responseTypes: ['code'],
    // Discovery lists these; every client is confidential, so 'none' is not among them.
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    pkce: { required: (_ctx, client) => client.metadata().sesame_require_pkce === true },
    extraClientMetadata: { properties: ['sesame_require_pkce', 'sesame_allowed_groups'] },
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: () => false,
    rotateRefreshToken: true,
    interactions: { url: (_ctx, interaction) => `/${tenant.id}/interaction/${interaction.uid}`, policy: interactionPolicyWithAccountPrompts(groups, tenant.id) },
    fetch: outboundFetch(deps.outbound),
    features: {
      devInteractions: { enabled: false },
      // An essential acr claim (claims parameter) is how an application insists on phrh (docs/acr-amr.md).
      claimsParameter: { enabled: true },
      revocation: { enabled: true },
      // OIDC Back-Channel Logout 1.0, to clients that registered a backchannel_logout_uri (design decision on logout).
      backchannelLogout: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = renderPage('logout', { nonce: cspNonce(ctx), title: 'Sign out', tenantName: tenant.name, branding: brandingOf(tenant), clientName: ctx.oidc.client?.clientName, form });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderPage('signed-out', { nonce: cspNonce(ctx), title: 'Signed out', tenantName: tenant.name, branding: brandingOf(tenant), clientName: ctx.oidc.client?.clientName });
        },
      },
    },
    loadExistingGrant: async (ctx) => {
      await recordSessionPasskey(ctx, tenant.id, deps.sessions);
      return grantEveryRequestedScope(ctx);
    },
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
      Session: SESSION_TTL_SECONDS,
      Grant: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
      ClientCredentials: 600,
    },
  };

  const provider = new Provider(issuerFor(deps.publicUrl, tenant.id), configuration);
  // The request's host, protocol and client address are pinned to PUBLIC_URL by the HTTP layer (middleware/public-url.ts).
  provider.proxy = true;
  compareHashedClientSecrets(provider);
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

const SESSION_TTL_SECONDS = 14 * 24 * 3600;

/**
 * Right after a passkey sign-in, notes which passkey opened this session (finishLogin put its id
 * in the interaction result), so that removing that passkey can end the session and its grants.
 */
async function recordSessionPasskey(ctx: KoaContextWithOIDC, tenantId: string, sessions: SessionRepository): Promise<void> {
  const credentialId = (ctx.oidc.result as { sesame?: { credentialId?: string } } | undefined)?.sesame?.credentialId;
  const sessionUid = ctx.oidc.session?.uid;
  if (!credentialId || !sessionUid || !ctx.oidc.result?.login) return;
  await sessions.recordOidcSession(tenantId, sessionUid, credentialId, Date.now() + SESSION_TTL_SECONDS * 1000);
}

/**
 * A relying party may POST its authorization request (OIDC Core 3.1.2.1) from its own site; the
 * provider's cookies must come along on that cross-site request, or the session is not seen and the
 * interaction is lost. SameSite=None is only accepted with Secure, so plain-http development keeps Lax.
 */
function crossSiteCookie(publicUrl: string) {
  return { httpOnly: true, sameSite: publicUrl.startsWith('https:') ? 'none' as const : 'lax' as const };
}

/**
 * `prompt=select_account` and `prompt=create` (OpenID Connect Prompt Create 1.0): both ask for the
 * sign-in page even when a session exists; `create` opens it on the sign-up form. Our sign-in
 * answers them together with `login` (interaction-context.ts, finishLogin).
 */
export const ACCOUNT_PROMPTS = ['select_account', 'create'] as const;

function interactionPolicyWithAccountPrompts(groups: GroupRepository, tenantId: string) {
  const policy = interactionPolicy.base();
  for (const name of ACCOUNT_PROMPTS) policy.add(new interactionPolicy.Prompt({ name, requestable: true }), 0);
  policy.get('login')!.checks.add(acrValuesCheck);
  // After login (a session exists, new or old), before consent: a client limited to some groups admits only their members.
  policy.add(new interactionPolicy.Prompt({ name: ACCESS_PROMPT, requestable: false }, groupMembershipCheck(groups, tenantId)), policy.findIndex((p) => p.name === 'login') + 1);
  return policy;
}

/** The prompt a signed-in user meets when the client admits only members of groups they are not in: the sign-in page then says so. */
export const ACCESS_PROMPT = 'sesame_access';

function groupMembershipCheck(groups: GroupRepository, tenantId: string) {
  return new interactionPolicy.Check('group_membership_required', 'the user is not a member of a group this client admits',
    async (ctx) => {
      const allowed = (ctx.oidc.client?.metadata().sesame_allowed_groups as string[] | undefined) ?? [];
      const accountId = ctx.oidc.session?.accountId;
      if (allowed.length === 0 || !accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return await groups.isMemberOfAny(tenantId, accountId, allowed) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    });
}

/**
 * The group check of a token's use: the sesame_access prompt stops a non-member at the
 * authorization endpoint, but a refresh token (and an access token at userinfo) outlives that
 * check, so every use of a token of a group-restricted client asks again. Someone removed from
 * the group then gets invalid_grant (refresh, code) or invalid_token (userinfo), as for an
 * account that is gone. Without a token (the session at the authorization endpoint) the prompt decides.
 */
function onlyAdmittedAccounts(groups: GroupRepository, tenantId: string, find: FindAccount): FindAccount {
  return async (ctx, sub, token) => {
    if (token) {
      const client = ctx.oidc.client?.clientId === token.clientId ? ctx.oidc.client : await ctx.oidc.provider.Client.find(String(token.clientId));
      const allowed = (client?.metadata().sesame_allowed_groups as string[] | undefined) ?? [];
      if (!client || (allowed.length > 0 && !await groups.isMemberOfAny(tenantId, sub, allowed))) return undefined;
    }
    return find(ctx, sub, token);
  };
}

/**
 * oidc-provider's outbound requests through OutboundClient (src/net/outbound.ts): https only, public
 * addresses only (unless OUTBOUND_ALLOW_PRIVATE), no redirects followed, bounded in time and size.
 */
function outboundFetch(outbound: OutboundClient) {
  return async (input: string | URL | Request, options: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const headers: Record<string, string> = {};
    new Headers(options.headers).forEach((value, name) => { if (value) headers[name] = value; });
    const body = options.body == null ? null : String(options.body);
    // The provider's signal carries its deadline for each request (2.5 s): a client that does not answer holds nobody longer.
    const answer = await outbound.request({ url, method: options.method ?? 'GET', headers, body, signal: options.signal ?? undefined });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
    const noBody = answer.status === 204 || answer.status === 205 || answer.status === 304;
    return new Response(noBody ? null : new Uint8Array(answer.body), { status: answer.status, headers: responseHeaders });
  };
}

/**
 * Sesame honours acr_values (requested-acr.ts), which the provider treats as voluntary: a session
 * whose sign-in does not meet them goes back to the sign-in page, as an essential acr claim does.
 */
const acrValuesCheck = new interactionPolicy.Check('acr_values_unmet', 'the session does not meet the requested acr_values',
  (ctx) => {
    const { values } = requestedAcr({ acr_values: ctx.oidc.params?.acr_values });
    return values.length > 0 && !values.includes(String(ctx.oidc.acr)) ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  });

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
