import assert from 'node:assert/strict';
import type { TestServer } from './server.js';
import { RP_REDIRECT } from './flow.js';

/**
 * The demo tenant's admin API with a tenant token, for tests that set things up through it: answers
 * the parsed body and fails the test on any status of 300 or more. `origin` and `token` are read at
 * each call (the server and the token are made in `before`).
 */
export function demoTenantApi(origin: () => string, token: () => string) {
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${origin()}/api/tenants/demo${path}`, {
      method, headers: { authorization: `Bearer ${token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.ok(response.status < 300, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

type SeedServices = TestServer['services'];

/**
 * The two tenants the admin API's tests work across ("demo" and "other"), each with a client, a
 * person in a group, a custom claim and a sign-up invitation (to that group, with `invitationToGroup`):
 * the ids the API's paths take, by tenant.
 */
export async function seedTwoTenants(services: SeedServices, options: { invitationToGroup?: boolean } = {}) {
  await services.tenants.createTenant('other', 'Other Org');
  const ids = { demo: {}, other: {} } as Record<'demo' | 'other', Record<string, string>>;
  for (const tenant of ['demo', 'other'] as const) {
    const client = await services.clientAdmin.create(tenant, { name: `${tenant} app`, redirectUris: [RP_REDIRECT] });
    await services.users.insert({ tenantId: tenant, id: `user-${tenant}`, email: `person@${tenant}.example`, emailVerified: true, displayName: 'Person', createdAt: Date.now() });
    await services.customClaims.define(tenant, 'department', 'string');
    const group = await services.groups.create(tenant, { name: 'Staff' });
    await services.groups.addMember(tenant, group.id, `user-${tenant}`);
    const { invitation } = await services.invitations.create(tenant, options.invitationToGroup ? { groupIds: [group.id] } : {});
    ids[tenant] = { clientId: client.client.clientId, userId: `user-${tenant}`, groupId: group.id, name: 'department', invitationId: invitation.id };
  }
  return ids;
}
