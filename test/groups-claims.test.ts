import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { GroupRepository } from '../src/storage/repositories/groups.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { authorizeUrl, exchangeCode, finishAtRp, openSignInPage, RP_REDIRECT, signIn, signUp, signUpThroughRp, verifyIdToken } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { demoTenantApi } from './support/admin-api.js';

/**
 * Groups and custom claims, set through the admin API and seen where relying parties see them:
 * in the ID token (scope "claims"), and at sign-in to a client open only to some groups.
 */
for (const db of await databases()) {
  describe(`groups and custom claims (${db})`, () => {
    let server: TestServer;
    let token: string;
    let open: Client;

    const api = demoTenantApi(() => server.origin, () => token);
    const registerClient = async (name: string, allowedGroups?: string[]): Promise<Client> => {
      const created = await api('POST', '/clients', { name, redirectUris: [RP_REDIRECT], ...(allowedGroups ? { allowedGroups } : {}) });
      return { ...(await server.services.clients.find('demo', created.client.clientId))!, clientSecret: created.clientSecret };
    };

    before(async () => {
      server = await startTestServer(db);
      token = (await server.services.apiTokens.create({ tenantId: 'demo' })).token;
      open = await registerClient('Open app');
    });
    after(() => server.close());

    // Found by the API fuzz test (seed 764936036, PostgreSQL): a person deleted by one request while
    // another added them to a group broke the membership's foreign key, and the API answered 500.
    test('adding a person who is deleted meanwhile to a group is "not found", never a broken write', async () => {
      const groups = new GroupRepository(server.services.database.db);
      const group = await api('POST', '/groups', { name: 'Racing' });
      assert.equal(await groups.addMember('demo', [group.id], 'deleted-meanwhile'), false, 'the write itself refuses an account that is gone');
      assert.deepEqual(await groups.members('demo', group.id), []);
      await server.services.users.insert({ tenantId: 'demo', id: 'racer', email: 'racer@example.com', emailVerified: true, displayName: 'Racer', createdAt: Date.now() });
      const answers = await Promise.all([
        fetch(`${server.origin}/api/tenants/demo/groups/${group.id}/members/racer`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } }),
        fetch(`${server.origin}/api/tenants/demo/users/racer`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }),
      ]);
      for (const answer of answers) assert.ok(answer.status < 500, `${answer.url}: ${answer.status} ${await answer.text()}`);
      await api('DELETE', `/groups/${group.id}`);
    });

    test('custom claims of the user and their groups are in the ID token for the "claims" scope only', async () => {
      const { claims: first, authenticator } = await signUpThroughRp(server, open, 'cleo@example.com', 'Cleo');
      assert.equal(first.department, undefined);

      for (const [name, type] of [['department', 'string'], ['roles', 'string_array'], ['level', 'number'], ['vip', 'boolean']]) await api('PUT', `/claims/${name}`, { type });
      const staff = await api('POST', '/groups', { name: 'Staff', claims: { roles: ['staff'], department: 'Sales', vip: false } });
      const admins = await api('POST', '/groups', { name: 'Admins', claims: { roles: ['admin', 'staff'], department: 'IT' } });
      await api('PUT', `/groups/${staff.id}/members/${first.sub}`);
      await api('PUT', `/groups/${admins.id}/members/${first.sub}`);
      await api('PUT', `/users/${first.sub}/claims`, { claims: { level: 3, vip: true } });
      const viewed = await api('GET', `/users/${first.sub}`);
      assert.deepEqual(viewed.groups.map((g: { name: string }) => g.name), ['Admins', 'Staff']);
      assert.deepEqual(viewed.claims, { level: 3, vip: true });

      const signInWith = async (scope: string) => {
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server, open, { scope }));
        const result = await finishAtRp(ua, await signIn(ua, authenticator, base, 'cleo@example.com'));
        const tokens = await exchangeCode(server, open, result.params.code);
        return verifyIdToken(server, open, tokens.body.id_token);
      };
      const withClaims = await signInWith('openid profile email claims');
      assert.deepEqual(withClaims.roles, ['admin', 'staff'], 'string arrays of the groups are joined');
      assert.equal(withClaims.department, 'IT', 'for other types the group first by name wins');
      assert.equal(withClaims.level, 3);
      assert.equal(withClaims.vip, true, 'the user\'s own value wins over a group\'s');
      assert.equal(withClaims.email, 'cleo@example.com');
      const without = await signInWith('openid profile email');
      for (const name of ['roles', 'department', 'level', 'vip']) assert.equal(without[name], undefined, `${name} without the claims scope`);

      // A claim no longer defined is no longer emitted.
      await api('DELETE', '/claims/department');
      const after = await signInWith('openid claims');
      assert.equal(after.department, undefined);
      assert.deepEqual(after.roles, ['admin', 'staff']);
      const discovery = await (await fetch(`${server.origin}/demo/oidc/.well-known/openid-configuration`)).json();
      assert.ok(discovery.scopes_supported.includes('claims'));
      assert.ok(discovery.claims_supported.includes('roles') && !discovery.claims_supported.includes('department'));
    });

    test('a claim cannot take a name every JavaScript object has (constructor, toString, …): the ID token would break', async () => {
      for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
        const response = await fetch(`${server.origin}/api/tenants/demo/claims/${name}`, {
          method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'string_array' }),
        });
        assert.equal(response.status, 400, name);
        assert.match((await response.json()).detail, /cannot be a claim name/, name);
      }
      // With such a name refused, sign-ins with the claims scope keep working for the group's members.
      const { claims: person, authenticator } = await signUpThroughRp(server, open, 'proto@example.com', 'Proto');
      await api('PUT', '/claims/constructors', { type: 'string_array' });
      const group = await api('POST', '/groups', { name: 'Prototype', claims: { constructors: ['a', 'b'] } });
      await api('PUT', `/groups/${group.id}/members/${person.sub}`);
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, open, { scope: 'openid claims' }));
      const result = await finishAtRp(ua, await signIn(ua, authenticator, base, 'proto@example.com'));
      const tokens = await exchangeCode(server, open, result.params.code);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.deepEqual((await verifyIdToken(server, open, tokens.body.id_token)).constructors, ['a', 'b']);
    });

    test('a claim retyped after values were given: a value of the old type is not emitted as the new one', async () => {
      const { claims: person, authenticator } = await signUpThroughRp(server, open, 'tess@example.com', 'Tess');
      await api('PUT', '/claims/tier', { type: 'number' });
      await api('PUT', '/claims/badge', { type: 'string' });
      const group = await api('POST', '/groups', { name: 'Tiered', claims: { tier: 3 } });
      await api('PUT', `/groups/${group.id}/members/${person.sub}`);
      await api('PUT', `/users/${person.sub}/claims`, { claims: { badge: 'gold' } });
      await api('PUT', '/claims/tier', { type: 'string_array' });
      await api('PUT', '/claims/badge', { type: 'boolean' });

      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, open, { scope: 'openid claims' }));
      const result = await finishAtRp(ua, await signIn(ua, authenticator, base, 'tess@example.com'));
      const idToken = await verifyIdToken(server, open, (await exchangeCode(server, open, result.params.code)).body.id_token);
      assert.equal(idToken.tier, undefined, 'a number is not a string_array');
      assert.equal(idToken.badge, undefined, 'a string is not a boolean');
    });

    test('a client open to some groups: members sign in, others see a clear page and the client gets access_denied', async () => {
      const members = await api('POST', '/groups', { name: 'Pilot users' });
      const restricted = await registerClient('Pilot app', [members.id]);

      // A member.
      const member = await signUpThroughRp(server, open, 'mia@example.com', 'Mia');
      await api('PUT', `/groups/${members.id}/members/${member.claims.sub}`);
      assert.ok((await finishAtRp(member.ua, authorizeUrl(server, restricted))).params.code, 'a member with a session signs in at once');

      // Someone else, signing up right at the restricted client.
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, restricted, { state: 'pilot' }));
      const page = await ua.follow(await signUp(ua, new SoftwareAuthenticator(), base, 'nina@example.com', 'Nina'));
      assert.equal(page.status, 403, page.text.slice(0, 300));
      assert.match(page.text, /You cannot use Pilot app with this account/);
      assert.match(page.text, /ask the people who run Pilot app/);
      const action = /<form method="post" action="([^"]+)"/.exec(page.text)?.[1];
      assert.ok(action);
      const denied = await ua.request(new URL(action, server.origin).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(denied.status, 303);
      const answer = await finishAtRp(ua, new URL(denied.headers.get('location')!, server.origin).href);
      assert.equal(answer.params.error, 'access_denied');
      assert.equal(answer.params.state, 'pilot');

      // With a session from another client (single sign-on) the same: no code for a non-member.
      const other = await signUpThroughRp(server, open, 'otto@example.com', 'Otto');
      const sso = await other.ua.follow(authorizeUrl(server, restricted));
      assert.equal(sso.status, 403);
      assert.equal((await finishAtRp(other.ua, authorizeUrl(server, restricted, { prompt: 'none' }))).params.error, 'interaction_required');

      // Removed from the group, the member is refused from then on.
      await api('DELETE', `/groups/${members.id}/members/${member.claims.sub}`);
      assert.equal((await member.ua.follow(authorizeUrl(server, restricted))).status, 403);
    });

    test('a member removed from the group loses the client\'s refresh token and access token too, not only new sign-ins', async () => {
      const members = await api('POST', '/groups', { name: 'Offline users' });
      const restricted = await registerClient('Offline app', [members.id]);
      const { claims: person, authenticator } = await signUpThroughRp(server, open, 'rhea@example.com', 'Rhea');
      await api('PUT', `/groups/${members.id}/members/${person.sub}`);
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, restricted, { scope: 'openid offline_access', prompt: 'consent' }));
      const result = await finishAtRp(ua, await signIn(ua, authenticator, base, 'rhea@example.com'));
      const tokens = (await exchangeCode(server, restricted, result.params.code)).body;
      assert.ok(tokens.refresh_token && tokens.access_token);

      const refresh = (refreshToken: string) => fetch(`${server.origin}/demo/oidc/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: restricted.clientId, client_secret: restricted.clientSecret }),
      });
      const userinfo = (accessToken: string) => fetch(`${server.origin}/demo/oidc/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      const whileMember = await refresh(tokens.refresh_token);
      assert.equal(whileMember.status, 200, 'a member refreshes');
      const renewed = await whileMember.json() as Record<string, string>;
      assert.equal((await userinfo(renewed.access_token)).status, 200);

      await api('DELETE', `/groups/${members.id}/members/${person.sub}`);
      const afterRemoval = await refresh(renewed.refresh_token);
      assert.equal(afterRemoval.status, 400, 'no new tokens for someone the client no longer admits');
      assert.equal((await afterRemoval.json() as Record<string, string>).error, 'invalid_grant');
      assert.equal((await userinfo(renewed.access_token)).status, 401, 'the access token no longer reads the account');
      // Back in the group, the client's tokens serve again (nothing was revoked, the membership is checked).
      await api('PUT', `/groups/${members.id}/members/${person.sub}`);
      assert.equal((await userinfo(renewed.access_token)).status, 200);
    });
  });
}
