import type Router from '@koa/router';
import type { Services } from '../../services.js';
import { badRequest } from '../../errors.js';
import { issuerFor } from '../../oidc/issuer.js';
import { policyOf, tenantCacheKey, type Tenant } from '../../storage/repositories/tenants.js';
import { announceChange } from '../../storage/read-cache.js';
import type { AuthenticatorPolicy } from '../../webauthn/policy/authenticator-policy.js';
import { sesameVersion } from '../../version.js';
import { apiRouter, route, type ApiRoute } from './api-route.js';
import * as s from './api-schemas.js';
import { apiTokenRoutes } from './token-routes.js';
import { tenantExtrasRoutes } from './tenant-extras-routes.js';

/**
 * Every endpoint of the admin API (docs/admin-api.md). Each one authenticates its token, checks
 * the tenant it names, validates its input with the schemas of api-schemas.ts, calls one service
 * (which audits the change), and answers JSON; errors are problem details (src/errors.ts).
 */
export function adminApiRoutes(services: Services): Router {
  return apiRouter(adminApiDefinitions(services), { apiTokens: services.apiTokens, requireTenant: (id) => services.tenants.requireTenant(id), publicUrl: services.config.publicUrl, version: sesameVersion() });
}

export function adminApiDefinitions(services: Services): ApiRoute[] {
  const { tenants, clientAdmin, userAdmin, groups, customClaims, invitations, audit, config } = services;
  const tenantView = (tenant: Tenant) => ({
    id: tenant.id,
    name: tenant.name,
    issuer: issuerFor(config.publicUrl, tenant.id),
    metadataUrl: `${issuerFor(config.publicUrl, tenant.id)}/.well-known/openid-configuration`,
    createdAt: tenant.createdAt,
    emailVerification: tenant.emailVerification ?? 'required',
    emailRecovery: tenant.emailRecovery !== false,
    signup: tenant.signup ?? 'open',
    brandColour: tenant.brandColour ?? null,
    authenticatorPolicy: policyOf(tenant),
    relatedOrigins: tenant.relatedOrigins ?? [],
  });

  return [
    // Tenants
    route({
      method: 'get', path: '/api/tenants', tag: 'Tenants', summary: 'The tenants this token may manage', status: 200,
      response: s.tenantSchema.array(),
      handle: async ({ principal }) => (principal.tenantId === null ? await tenants.listTenants() : [await tenants.requireTenant(principal.tenantId)]).map(tenantView),
    }),
    route({
      method: 'post', path: '/api/tenants', tag: 'Tenants', summary: 'Create a tenant (operator tokens only)', operatorOnly: true, status: 201,
      body: s.tenantCreateBody, response: s.tenantSchema,
      handle: async ({ body }) => {
        const tenant = await tenants.createTenant(body.id, body.name);
        await audit.record({ type: 'admin.tenant_created', tenantId: tenant.id, detail: { name: tenant.name } });
        return tenantView(tenant);
      },
    }),
    route({
      method: 'get', path: '/api/tenants/{tenant}', tag: 'Tenants', summary: 'A tenant with its settings', status: 200,
      params: s.tenantParams, response: s.tenantSchema,
      handle: async ({ params }) => tenantView(await tenants.requireTenant(params.tenant)),
    }),
    route({
      method: 'patch', path: '/api/tenants/{tenant}/settings', tag: 'Tenants', status: 200,
      summary: 'Change settings: display name, e-mail verification, e-mail recovery, open or invitation-only sign-up, brand colour, authenticator policy',
      description: 'Only the settings given change. The authenticator policy is merged into the one in force and checked whole.',
      params: s.tenantParams, body: s.settingsBody, response: s.tenantSchema,
      handle: async ({ params, body }) => {
        const tenantId = params.tenant;
        // Everything is checked before anything changes: a bad value leaves every setting as it was.
        if (body.authenticatorPolicy) await tenants.checkAuthenticatorPolicy(tenantId, body.authenticatorPolicy as Partial<AuthenticatorPolicy>);
        if (body.brandColour) await tenants.checkBrandColour(body.brandColour);
        if (body.displayName !== undefined) await tenants.setDisplayName(tenantId, body.displayName);
        if (body.emailVerification !== undefined) await tenants.setEmailVerification(tenantId, body.emailVerification);
        if (body.emailRecovery !== undefined) await tenants.setEmailRecovery(tenantId, body.emailRecovery);
        if (body.signup !== undefined) await tenants.setSignup(tenantId, body.signup);
        if (body.brandColour !== undefined) await tenants.setBrandColour(tenantId, body.brandColour);
        if (body.authenticatorPolicy) await tenants.changeAuthenticatorPolicy(tenantId, body.authenticatorPolicy as Partial<AuthenticatorPolicy>);
        await audit.record({ type: 'admin.tenant_changed', tenantId, detail: { settings: Object.keys(body) } });
        return tenantView(await tenants.requireTenant(tenantId));
      },
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/signing-keys/rotate', tag: 'Tenants', status: 200,
      summary: 'Publish a new signing key; it signs 48 hours later', params: s.tenantParams, response: s.keyRotation,
      handle: async ({ params }) => {
        const { next, removed } = await services.signingKeys.rotate(params.tenant);
        await audit.record({ type: 'admin.keys_rotated', tenantId: params.tenant, detail: { kid: next.kid, activatesAt: new Date(next.activatesAt).toISOString(), removed } });
        // Every node rebuilds the tenant's provider, so the new key is in the JWKS at once.
        services.registry.invalidate(params.tenant);
        await announceChange(services.database.db, tenantCacheKey(params.tenant));
        return { kid: next.kid, activatesAt: next.activatesAt, removed };
      },
    }),
    route({
      method: 'get', path: '/api/tenants/{tenant}/audit', tag: 'Audit log', status: 200,
      summary: 'Security events, oldest first, filtered', params: s.tenantParams, query: s.auditQuery, response: s.auditPage,
      handle: async ({ params, query }) => {
        const limit = query.limit ?? 100;
        const events = [];
        for await (const event of audit.list({
          tenantId: params.tenant, type: query.type, userId: query.userId,
          since: query.since === undefined ? undefined : instant('since', query.since), until: query.until === undefined ? undefined : instant('until', query.until),
        })) {
          if (events.length === limit) return { events, more: true };
          events.push(event);
        }
        return { events, more: false };
      },
    }),

    // Clients
    route({
      method: 'get', path: '/api/tenants/{tenant}/clients', tag: 'Clients', summary: 'The tenant\'s clients (never their secrets)', status: 200,
      params: s.tenantParams, response: s.clientSchema.array(),
      handle: async ({ params }) => clientAdmin.list(params.tenant),
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/clients', tag: 'Clients', status: 201,
      summary: 'Register a client: its secret (once) and the values for B2C\'s or External ID\'s form',
      params: s.tenantParams, body: s.clientCreateBody, response: s.clientCreated,
      handle: async ({ params, body }) => clientAdmin.create(params.tenant, body),
    }),
    route({
      method: 'get', path: '/api/tenants/{tenant}/clients/{clientId}', tag: 'Clients', summary: 'One client', status: 200,
      params: s.clientParams, response: s.clientSchema,
      handle: async ({ params }) => clientAdmin.get(params.tenant, params.clientId),
    }),
    route({
      method: 'patch', path: '/api/tenants/{tenant}/clients/{clientId}', tag: 'Clients', status: 200,
      summary: 'Change redirect URIs, the back-channel logout URI, or the groups it admits', params: s.clientParams, body: s.clientChangeBody, response: s.clientSchema,
      handle: async ({ params, body }) => {
        const { tenant, clientId } = params;
        let client = await clientAdmin.get(tenant, clientId);
        // Everything is checked before anything changes: a bad logout URI leaves the redirect URIs as they were.
        await clientAdmin.checkAccess(tenant, body);
        if (body.redirectUris || body.postLogoutRedirectUris) {
          client = await clientAdmin.setRedirectUris(tenant, clientId, { redirectUris: body.redirectUris ?? client.redirectUris, postLogoutRedirectUris: body.postLogoutRedirectUris });
        }
        if (body.backchannelLogoutUri !== undefined || body.allowedGroups !== undefined) {
          client = await clientAdmin.setAccess(tenant, clientId, { backchannelLogoutUri: body.backchannelLogoutUri, allowedGroups: body.allowedGroups });
        }
        return client;
      },
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/clients/{clientId}/secret', tag: 'Clients', status: 200,
      summary: 'Rotate the client secret: the new one is in the answer, once; the old one stops working at once', params: s.clientParams, response: s.clientSecretRotated,
      handle: async ({ params }) => clientAdmin.rotateSecret(params.tenant, params.clientId),
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/clients/{clientId}', tag: 'Clients', summary: 'Delete a client', status: 204,
      params: s.clientParams,
      handle: async ({ params }) => clientAdmin.delete(params.tenant, params.clientId),
    }),

    // Users
    route({
      method: 'get', path: '/api/tenants/{tenant}/users', tag: 'Users', summary: 'Find users by a part of their address or name, newest first', status: 200,
      params: s.tenantParams, query: s.userSearchQuery, response: s.userPage,
      handle: async ({ params, query }) => userAdmin.search(params.tenant, query),
    }),
    route({
      method: 'get', path: '/api/tenants/{tenant}/users/{userId}', tag: 'Users', summary: 'A user with their passkeys, phones, groups and claims', status: 200,
      params: s.userParams, response: s.userDetails,
      handle: async ({ params }) => ({
        ...await userAdmin.get(params.tenant, params.userId),
        groups: await groups.groupsOf(params.tenant, params.userId),
        claims: await customClaims.userClaims(params.tenant, params.userId),
      }),
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/users/{userId}/disable', tag: 'Users', status: 200,
      summary: 'Disable a user: they cannot sign in, their sessions end and back-channel logout tokens go out', params: s.userParams, response: s.userSummary,
      handle: async ({ params }) => {
        await userAdmin.disableUser(params.tenant, params.userId);
        return (await userAdmin.get(params.tenant, params.userId));
      },
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/users/{userId}/enable', tag: 'Users', summary: 'Let a disabled user sign in again', status: 200,
      params: s.userParams, response: s.userSummary,
      handle: async ({ params }) => {
        await userAdmin.enableUser(params.tenant, params.userId);
        return userAdmin.get(params.tenant, params.userId);
      },
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/users/{userId}', tag: 'Users', status: 200,
      summary: 'Delete a user with their passkeys, phones and sessions (back-channel logout tokens go out); cannot be undone', params: s.userParams, response: s.deletion,
      handle: async ({ params }) => {
        const { user, passkeys, phones } = await userAdmin.deleteUser(params.tenant, params.userId);
        return { userId: user.id, email: user.email, passkeys, phones };
      },
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/users/{userId}/recovery-link', tag: 'Users', status: 201,
      summary: 'A one-time link (15 minutes) to a new passkey: answered, or mailed to the person', params: s.userParams, body: s.recoveryLinkBody, response: s.recoveryLink,
      handle: async ({ params, body }) => {
        if (body.send) return userAdmin.sendRecoveryLink(params.tenant, params.userId);
        const { link, expiresAt } = await userAdmin.createRecoveryLink(params.tenant, params.userId);
        return { link, expiresAt };
      },
    }),
    route({
      method: 'put', path: '/api/tenants/{tenant}/users/{userId}/claims', tag: 'Groups and claims', status: 200,
      summary: 'Replace the user\'s own custom claim values', params: s.userParams, body: s.claimsBody, response: s.claimValues,
      handle: async ({ params, body }) => customClaims.setUserClaims(params.tenant, params.userId, body.claims),
    }),

    // Custom claim definitions
    route({
      method: 'get', path: '/api/tenants/{tenant}/claims', tag: 'Groups and claims', summary: 'The tenant\'s custom claims (names and types)', status: 200,
      params: s.tenantParams, response: s.claimDefinition.array(),
      handle: async ({ params }) => customClaims.definitions(params.tenant),
    }),
    route({
      method: 'put', path: '/api/tenants/{tenant}/claims/{name}', tag: 'Groups and claims', status: 200,
      summary: 'Define (or retype) a custom claim; clients get it in the ID token with the "claims" scope', params: s.claimParams, body: s.claimDefinitionBody, response: s.claimDefinition,
      handle: async ({ params, body }) => customClaims.define(params.tenant, params.name, body.type),
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/claims/{name}', tag: 'Groups and claims', summary: 'Remove a custom claim: its values are no longer emitted', status: 204,
      params: s.claimParams,
      handle: async ({ params }) => {
        await customClaims.undefine(params.tenant, params.name);
      },
    }),

    // Groups
    route({
      method: 'get', path: '/api/tenants/{tenant}/groups', tag: 'Groups and claims', summary: 'The tenant\'s groups', status: 200,
      params: s.tenantParams, response: s.groupSchema.array(),
      handle: async ({ params }) => groups.list(params.tenant),
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/groups', tag: 'Groups and claims', summary: 'Create a group, optionally with claim values', status: 201,
      params: s.tenantParams, body: s.groupCreateBody, response: s.groupSchema,
      handle: async ({ params, body }) => groups.create(params.tenant, body),
    }),
    route({
      method: 'get', path: '/api/tenants/{tenant}/groups/{groupId}', tag: 'Groups and claims', summary: 'A group with its members', status: 200,
      params: s.groupParams, response: s.groupDetails,
      handle: async ({ params }) => groups.get(params.tenant, params.groupId),
    }),
    route({
      method: 'patch', path: '/api/tenants/{tenant}/groups/{groupId}', tag: 'Groups and claims', summary: 'Rename a group or replace its claim values', status: 200,
      params: s.groupParams, body: s.groupChangeBody, response: s.groupSchema,
      handle: async ({ params, body }) => groups.update(params.tenant, params.groupId, body),
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/groups/{groupId}', tag: 'Groups and claims', summary: 'Delete a group (its members stay users)', status: 204,
      params: s.groupParams,
      handle: async ({ params }) => groups.delete(params.tenant, params.groupId),
    }),
    route({
      method: 'put', path: '/api/tenants/{tenant}/groups/{groupId}/members/{userId}', tag: 'Groups and claims', summary: 'Add a user to a group', status: 204,
      params: s.memberParams,
      handle: async ({ params }) => groups.addMember(params.tenant, params.groupId, params.userId),
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/groups/{groupId}/members/{userId}', tag: 'Groups and claims', summary: 'Remove a user from a group', status: 204,
      params: s.memberParams,
      handle: async ({ params }) => groups.removeMember(params.tenant, params.groupId, params.userId),
    }),

    // Invitations
    route({
      method: 'get', path: '/api/tenants/{tenant}/invitations', tag: 'Invitations', summary: 'Sign-up invitations, newest first', status: 200,
      params: s.tenantParams, response: s.invitationSchema.array(),
      handle: async ({ params }) => invitations.list(params.tenant),
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/invitations', tag: 'Invitations', status: 201,
      summary: 'Create an invitation link (for tenants with sign-up by invitation): expiry, use limit, optionally one address and groups',
      params: s.tenantParams, body: s.invitationCreateBody, response: s.invitationCreated,
      handle: async ({ params, body }) => invitations.create(params.tenant, body),
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/invitations/{invitationId}', tag: 'Invitations', summary: 'Withdraw an invitation', status: 204,
      params: s.invitationParams,
      handle: async ({ params }) => invitations.revoke(params.tenant, params.invitationId),
    }),

    ...apiTokenRoutes(services),
    ...tenantExtrasRoutes(services),
  ];
}

function instant(name: string, value: string): number {
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw badRequest(`${name} takes an ISO 8601 date or time, like 2025-01-31 or 2025-01-31T12:00:00Z (not "${value}").`);
  return at;
}
