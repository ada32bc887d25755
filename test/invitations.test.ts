import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { authorizeUrl, finishAtRp, openSignInPage, RP_REDIRECT } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { demoTenantApi } from './support/admin-api.js';

/**
 * Invitations for a tenant whose sign-up is closed: made through the admin API, accepted on the
 * invitation page, used when the account is created — never more often than allowed, also when
 * many sign-ups arrive at once (SQLite and PostgreSQL).
 */
const ATTEMPTS = 16;

for (const db of await databases()) {
  describe(`sign-up invitations (${db})`, () => {
    let server: TestServer;
    let token: string;
    let client: Client;

    const api = demoTenantApi(() => server.origin, () => token);
    const tokenOf = (link: string) => new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;
    const accept = (ua: UserAgent, link: string) => ua.postJson(`${server.origin}/demo/invitation`, { token: tokenOf(link) });

    /** A browser on the sign-up form of the client, up to the passkey options. */
    const startSignUp = async (ua: UserAgent, email: string) => {
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const options = await ua.postJson(`${base}/signup/options`, { email, displayName: email.split('@')[0] });
      return { base, options };
    };
    const finishSignUp = async (ua: UserAgent, base: string, options: { challengeId: string; options: Parameters<SoftwareAuthenticator['createCredential']>[0] }) =>
      ua.postJson(`${base}/signup/verify`, { challengeId: options.challengeId, response: new SoftwareAuthenticator().createCredential(options.options, server.origin) });

    before(async () => {
      server = await startTestServer(db);
      token = (await server.services.apiTokens.create({ tenantId: 'demo' })).token;
      const created = await api('POST', '/clients', { name: 'Members area', redirectUris: [RP_REDIRECT] });
      client = { ...(await server.services.clients.find('demo', created.client.clientId))!, clientSecret: created.clientSecret };
      // Invitation-only sign-up; the address proof is tested elsewhere, so the passkey comes first here.
      await api('PATCH', '/settings', { signup: 'invitation', emailVerification: 'off' });
    });
    after(() => server.close());

    test('with sign-up closed, creating an account needs an invitation; the page says so', async () => {
      const ua = new UserAgent(server.origin);
      const { options } = await startSignUp(ua, 'walkin@example.com');
      assert.equal(options.status, 403);
      assert.equal(options.json().error, 'invitation_required');
      assert.match(options.json().message, /needs an invitation/);
    });

    test('the sign-in page explains invitation-only sign-up instead of offering a form, also for prompt=create; an invited browser gets the form', async () => {
      const EXPLANATION = 'This organisation adds people by invitation. Ask your administrator for one.';
      const signUpOffered = (html: string) => /id="show-signup"/.test(html) && /id="signup-form"/.test(html);
      const walkIn = new UserAgent(server.origin);
      for (const params of [{}, { prompt: 'create' }] as Array<Record<string, string>>) {
        const { page } = await openSignInPage(walkIn, authorizeUrl(server, client, params));
        assert.ok(page.text.includes(EXPLANATION), `explained (${JSON.stringify(params)})`);
        assert.doesNotMatch(page.text, /id="show-signup"|id="signup-form"|Create account with a passkey/, 'no way into a form that would refuse them');
        assert.match(page.text, /id="signin-form"/, 'people with an account still sign in');
      }
      const created = await openSignInPage(walkIn, authorizeUrl(server, client, { prompt: 'create' }));
      assert.match(created.page.text, /<section id="signup-view"[^>]*>\s*<h2 id="signup-heading"[^>]*>Create an account<\/h2>\s*<p id="signup-closed">/, 'prompt=create opens on the explanation');
      const { base } = await openSignInPage(walkIn, authorizeUrl(server, client));
      const unknown = await walkIn.postJson(`${base}/signin/options`, { email: 'stranger@example.com' });
      assert.equal(unknown.json().message, 'We don\'t know this e-mail address. Check it, or create an account if you were invited.');

      const { link, invitation } = await api('POST', '/invitations', { maxUses: 1 });
      const invited = new UserAgent(server.origin);
      assert.equal((await accept(invited, link)).status, 200);
      for (const params of [{}, { prompt: 'create' }] as Array<Record<string, string>>) {
        const { page } = await openSignInPage(invited, authorizeUrl(server, client, params));
        assert.ok(signUpOffered(page.text), `an invited browser signs up as usual (${JSON.stringify(params)})`);
        assert.ok(!page.text.includes(EXPLANATION));
      }
      await api('DELETE', `/invitations/${invitation.id}`);
      const { page } = await openSignInPage(invited, authorizeUrl(server, client));
      assert.ok(!signUpOffered(page.text), 'a withdrawn invitation opens nothing');
      assert.match(page.text, /This invitation has been used up, has expired or was withdrawn\. Ask the person who invited you for a new one\./);
    });

    test('an accepted invitation lets one person sign up, into the invitation\'s groups; then it is used up', async () => {
      const group = await api('POST', '/groups', { name: 'Invited' });
      const { link, invitation } = await api('POST', '/invitations', { maxUses: 1, expiresInDays: 3, groupIds: [group.id] });
      assert.match(link, /\/demo\/invitation#token=[A-Za-z0-9_-]{43}$/);

      const page = await new UserAgent(server.origin).get(`${server.origin}/demo/invitation`);
      assert.equal(page.status, 200);
      assert.match(page.text, /You are invited to Demo Shop/);

      const ua = new UserAgent(server.origin);
      const accepted = await accept(ua, link);
      assert.equal(accepted.status, 200, accepted.text);
      assert.match(accepted.json().message, /Now open the application/);
      const { base, options } = await startSignUp(ua, 'ivy@example.com');
      assert.equal(options.status, 200, options.text);
      const done = await finishSignUp(ua, base, options.json());
      assert.equal(done.status, 200, done.text);
      assert.ok((await finishAtRp(ua, done.json().redirectTo)).params.code);
      const user = await server.services.users.findByEmail('demo', 'ivy@example.com');
      assert.deepEqual((await api('GET', `/users/${user!.id}`)).groups.map((g: { name: string }) => g.name), ['Invited']);
      assert.equal((await api('GET', '/invitations')).find((i: { id: string }) => i.id === invitation.id).uses, 1);

      const late = new UserAgent(server.origin);
      const refused = await accept(late, link);
      assert.equal(refused.status, 400);
      assert.match(refused.json().message, /expired, was used up or withdrawn/);
    });

    test('an invitation for one address admits that address only; a withdrawn one admits nobody', async () => {
      const { link, invitation } = await api('POST', '/invitations', { email: 'Only@Example.com', maxUses: 5 });
      const ua = new UserAgent(server.origin);
      assert.equal((await accept(ua, link)).status, 200);
      const wrong = await startSignUp(ua, 'someone-else@example.com');
      assert.equal(wrong.options.status, 403);
      assert.equal(wrong.options.json().error, 'invitation_for_another_address');
      assert.equal((await startSignUp(ua, 'only@example.com')).options.status, 200);

      await api('DELETE', `/invitations/${invitation.id}`);
      const after = await startSignUp(ua, 'only@example.com');
      assert.equal(after.options.status, 403, 'the cookie of a withdrawn invitation opens nothing');
      assert.equal(after.options.json().error, 'invitation_used_up');
      assert.match(after.options.json().message, /was withdrawn/);
    });

    test('an invitation for another address, swapped in after the sign-up started, makes no account and spends no invitation', async () => {
      const admins = await api('POST', '/groups', { name: 'Admins' });
      const mine = await api('POST', '/invitations', { maxUses: 1 });
      const bobs = await api('POST', '/invitations', { maxUses: 1, email: 'bob@example.com', groupIds: [admins.id] });
      const ua = new UserAgent(server.origin);
      assert.equal((await accept(ua, mine.link)).status, 200);
      const { base, options } = await startSignUp(ua, 'mallory@example.com');
      assert.equal(options.status, 200, options.text);
      // Bob's invitation (leaked) replaces the browser's own before the passkey is sent.
      assert.equal((await accept(ua, bobs.link)).status, 200);
      const done = await finishSignUp(ua, base, options.json());
      assert.equal(done.status, 403, done.text);
      assert.equal(done.json().error, 'invitation_for_another_address');
      assert.equal(await server.services.users.findByEmail('demo', 'mallory@example.com'), undefined, 'no account was made');
      const uses = Object.fromEntries((await api('GET', '/invitations')).map((i: { id: string; uses: number }) => [i.id, i.uses]));
      assert.equal(uses[mine.invitation.id], 0);
      assert.equal(uses[bobs.invitation.id], 0);
      assert.equal((await api('GET', `/groups/${admins.id}`)).members.length, 0);
    });

    test('an invitation naming a group deleted since still works: the new account joins the groups that remain', async () => {
      const kept = await api('POST', '/groups', { name: 'Kept' });
      const gone = await api('POST', '/groups', { name: 'Gone' });
      const { link, invitation } = await api('POST', '/invitations', { maxUses: 1, groupIds: [kept.id, gone.id] });
      await api('DELETE', `/groups/${gone.id}`);
      const ua = new UserAgent(server.origin);
      assert.equal((await accept(ua, link)).status, 200);
      const { base, options } = await startSignUp(ua, 'gwen@example.com');
      const done = await finishSignUp(ua, base, options.json());
      assert.equal(done.status, 200, done.text);
      const user = await server.services.users.findByEmail('demo', 'gwen@example.com');
      assert.deepEqual((await api('GET', `/users/${user!.id}`)).groups.map((g: { name: string }) => g.name), ['Kept']);
      assert.equal((await api('GET', '/invitations')).find((i: { id: string }) => i.id === invitation.id).uses, 1);
    });

    test('the browser forgets the invitation once its account is made: a shared computer does not hand a team link on', async () => {
      const { link } = await api('POST', '/invitations', { maxUses: 5 });
      const ua = new UserAgent(server.origin);
      assert.equal((await accept(ua, link)).status, 200);
      const { base, options } = await startSignUp(ua, 'first@example.com');
      assert.equal((await finishSignUp(ua, base, options.json())).status, 200);
      assert.equal((await ua.jar.getCookies(`${server.origin}/demo/`)).find((c) => c.key === 'sesame_invitation'), undefined, 'the cookie is gone');
      const next = await startSignUp(ua, 'second@example.com');
      assert.equal(next.options.status, 403);
      assert.equal(next.options.json().error, 'invitation_required');
    });

    test(`an invitation for 3 is used 3 times when ${ATTEMPTS} sign-ups finish at once`, async () => {
      const { link, invitation } = await api('POST', '/invitations', { maxUses: 3 });
      const browsers = await Promise.all(Array.from({ length: ATTEMPTS }, async (_, i) => {
        const ua = new UserAgent(server.origin);
        assert.equal((await accept(ua, link)).status, 200);
        const { base, options } = await startSignUp(ua, `racer-${i}@example.com`);
        assert.equal(options.status, 200, options.text);
        return { ua, base, options: options.json() };
      }));
      const results = await Promise.all(browsers.map(({ ua, base, options }) => finishSignUp(ua, base, options)));
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 3, statuses.join(','));
      assert.ok(results.every((r) => r.status === 200 || (r.status === 403 && r.json().error === 'invitation_used_up')), results.map((r) => r.text).join('\n'));
      assert.equal((await api('GET', '/invitations')).find((i: { id: string }) => i.id === invitation.id).uses, 3);
      const created = await server.services.database.db.selectFrom('users').select('id').where('tenant_id', '=', 'demo').where('email', 'like', 'racer-%').execute();
      assert.equal(created.length, 3, 'exactly three accounts were made');
    });

    test('open sign-up again: no invitation needed', async () => {
      await api('PATCH', '/settings', { signup: 'open' });
      const ua = new UserAgent(server.origin);
      const { page } = await openSignInPage(ua, authorizeUrl(server, client));
      assert.match(page.text, /id="show-signup"/);
      assert.doesNotMatch(page.text, /adds people by invitation/);
      const { options } = await startSignUp(ua, 'free@example.com');
      assert.equal(options.status, 200, options.text);
    });
  });
}
