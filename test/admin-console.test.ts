import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { consoleSignIn, enrol, enrolled, operator, postForm, readable, tenantAdmin, tokenOf } from './support/admin.js';
import { mailedLink, queuedMail } from './support/mailbox.js';
import { whileRowLocked } from './support/row-lock.js';
import { authorizeUrl, createClient, finishAtRp, openSignInPage, signIn, signUp } from './support/flow.js';

/**
 * The console at PUBLIC_URL/admin over HTTP: administrators' enrolment links (single use, also under
 * concurrency), passkey sign-in and sessions, who may see which tenant, CSRF, and each page's forms.
 */
const ATTEMPTS = 16;

for (const db of await databases()) {
  describe(`admin console (${db})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(db);
      await server.services.tenants.createTenant('acme', 'Acme');
      await server.services.tenants.createTenant('globex', 'Globex');
    });
    after(() => server.close());

    test('an enrolment link makes an administrator once; the passkey then signs in, and signing out ends the session', async () => {
      const { link } = await server.services.adminAccounts.createInvitation({ kind: 'operator', email: 'Ops@Example.com', invitedBy: 'cli' });
      assert.match(link, new RegExp(`^${server.origin}/admin/enrol#[A-Za-z0-9_-]{43}$`), 'the token rides in the fragment');
      const first = await enrolled(server, link);
      assert.equal(first.redirectTo, '/admin/tenants');
      const home = await first.ua.get(`${server.origin}/admin/tenants`);
      assert.equal(home.status, 200);
      assert.match(home.text, /Acme/);
      assert.match(home.text, /Globex/);
      assert.match(home.text, /ops@example\.com/, 'the address is kept in lower case');

      const again = await enrol(new UserAgent(server.origin), link, new SoftwareAuthenticator());
      assert.equal(again.status, 400);
      assert.equal(again.json().error, 'invitation_invalid');

      const browser = new UserAgent(server.origin);
      assert.equal((await browser.get(`${server.origin}/admin/tenants`)).headers.get('location'), '/admin?next=%2Fadmin%2Ftenants', 'signed out: to the sign-in page');
      const signedIn = await consoleSignIn(browser, first.authenticator, '/admin/tenants/acme/audit');
      assert.equal(signedIn.status, 200, signedIn.text);
      assert.equal(signedIn.json().redirectTo, '/admin/tenants/acme/audit', 'back to where the browser was going');
      const cookie = (await browser.jar.getCookies(`${server.origin}/admin`)).find((c) => c.key === 'sesame_admin')!;
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'strict');
      assert.equal(cookie.path, '/admin');
      assert.equal((await browser.get(`${server.origin}/admin`)).headers.get('location'), '/admin/tenants');

      const copy = new UserAgent(server.origin);
      await copy.jar.setCookie(cookie.clone()!, `${server.origin}/admin`);
      assert.equal((await copy.get(`${server.origin}/admin/tenants`)).status, 200);
      const out = await postForm(browser, '/admin/signout', {});
      assert.equal(out.status, 303);
      assert.equal((await copy.get(`${server.origin}/admin/tenants`)).status, 302, 'a copied cookie stops working too');
      const lateForm = await postForm(copy, '/admin/tenants/acme/keys/rotate', {});
      assert.equal(lateForm.status, 303, 'a form sent after the session ended goes to the sign-in page');
      assert.equal(lateForm.headers.get('location'), '/admin');

      const events = await server.services.audit.page({ tenantId: '*' }, 10);
      assert.ok(events.some((e) => e.type === 'admin.enrolled' && e.actor === 'admin:ops@example.com'));
      assert.ok(events.some((e) => e.type === 'admin.signed_in'));
    });

    test('a link that expired, or a made-up or cut-off token, enrols nobody', async () => {
      const { link, invitation } = await server.services.adminAccounts.createInvitation({ kind: 'operator', email: 'late@example.com', invitedBy: 'cli' }, Date.now() - 25 * 3600_000);
      assert.ok(invitation.expiresAt < Date.now());
      const expired = await enrol(new UserAgent(server.origin), link, new SoftwareAuthenticator());
      assert.equal(expired.json().error, 'invitation_invalid');
      const ua = new UserAgent(server.origin);
      for (const token of ['A'.repeat(43), tokenOf(link).slice(0, 20), '', 42]) {
        const response = await ua.postJson(`${server.origin}/admin/enrol/options`, { token });
        assert.equal(response.status, 400, String(token));
      }
    });

    test(`of ${ATTEMPTS} browsers using one link at once, exactly one becomes the administrator`, async () => {
      const { link, invitation } = await server.services.adminAccounts.createInvitation({ kind: 'tenant-admin', email: 'race@example.com', tenantId: 'acme', invitedBy: 'test' });
      const token = tokenOf(link);
      const racers = await Promise.all(Array.from({ length: ATTEMPTS }, async () => {
        const ua = new UserAgent(server.origin);
        const start = (await ua.postJson(`${server.origin}/admin/enrol/options`, { token })).json();
        return { ua, challengeId: start.challengeId, response: new SoftwareAuthenticator().createCredential(start.options, server.origin) };
      }));
      const results = await whileRowLocked(db, server, { table: 'admin_invitations', where: 'id = $1', params: [invitation.id] }, 2,
        () => Promise.all(racers.map(({ ua, challengeId, response }) => ua.postJson(`${server.origin}/admin/enrol/verify`, { token, challengeId, response }))));
      assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
      assert.ok(results.every((r) => r.status === 200 || (r.status === 409 && r.json().error === 'invitation_used') || (r.status === 400 && r.json().error === 'invitation_invalid')),
        results.map((r) => r.text).join('\n'));
      const admins = await server.services.adminAccounts.listAdmins('acme');
      const race = admins.filter((a) => a.email === 'race@example.com');
      assert.equal(race.length, 1);
      assert.equal(race[0].passkeys, 1, 'one passkey: the winner\'s');
    });

    test('a tenant administrator sees their tenant only: every other tenant\'s page and form is answered as if it did not exist', async () => {
      const { ua, redirectTo } = await tenantAdmin(server, 'acme', 'alice@acme.example');
      const globexGroup = await server.services.groups.create('globex', { name: 'Globex staff' });
      const { invitation: globexInvitation } = await server.services.invitations.create('globex', {});
      assert.equal(redirectTo, '/admin/tenants/acme');
      assert.equal((await ua.get(`${server.origin}/admin/tenants/acme`)).status, 200);
      assert.equal((await ua.get(`${server.origin}/admin/tenants`)).status, 403, 'the list of tenants is the operator\'s');
      for (const page of ['', '/settings', '/keys', '/audit', '/audit/export', '/admins', '/groups', `/groups/${globexGroup.id}`, '/invitations']) {
        const response = await ua.get(`${server.origin}/admin/tenants/globex${page}`);
        assert.equal(response.status, 404, page);
        assert.doesNotMatch(response.text, /Globex/, page);
      }
      const keysBefore = await server.services.signingKeys.describe('globex');
      const forms: Array<[string, Record<string, string>]> = [
        ['/settings/signup', { emailVerification: 'off', emailRecovery: 'off' }],
        ['/settings/branding', { displayName: 'Owned' }],
        ['/keys/rotate', {}],
        ['/admins/invite', { email: 'mallory@example.com' }],
        ['/groups', { name: 'Owned' }],
        ['/claims', { name: 'owned', type: 'string' }],
        ['/claims/remove', { name: 'level' }],
        [`/groups/${globexGroup.id}/rename`, { name: 'Owned' }],
        [`/groups/${globexGroup.id}/claims`, { 'claim_level': 'owned' }],
        [`/groups/${globexGroup.id}/members`, { email: 'someone@globex.example' }],
        [`/groups/${globexGroup.id}/delete`, { confirm: 'yes' }],
        ['/invitations', { email: 'mallory@example.com', send: 'on', maxUses: '1', days: '7' }],
        ['/invitations', { maxUses: '5', days: '7' }],
        ['/invitations/withdraw', { invitationId: globexInvitation.id }],
        ['/invitations/signup', { signup: 'invitation' }],
      ];
      for (const [path, fields] of forms) {
        const response = await postForm(ua, `/admin/tenants/globex${path}`, fields);
        assert.equal(response.status, 404, path);
      }
      const globex = await server.services.tenants.requireTenant('globex');
      assert.equal(globex.name, 'Globex');
      assert.equal(globex.emailVerification, 'required');
      assert.equal((await server.services.signingKeys.describe('globex')).length, keysBefore.length);
      assert.deepEqual((await server.services.adminAccounts.listOpenInvitations('globex')).map((i) => i.email), []);
      assert.deepEqual((await server.services.groups.list('globex')).map((g) => [g.name, g.claims]), [['Globex staff', {}]]);
      assert.deepEqual(await server.services.customClaims.definitions('globex'), []);
      assert.deepEqual((await server.services.invitations.list('globex')).map((i) => [i.id, i.revokedAt]), [[globexInvitation.id, null]]);
      assert.equal(globex.signup ?? 'open', 'open');
      assert.equal((await postForm(ua, '/admin/tenants/acme/invitations/withdraw', { invitationId: globexInvitation.id })).status, 404, 'nor through their own tenant');
      await server.services.invitations.revoke('globex', globexInvitation.id);
      assert.equal((await postForm(ua, `/admin/tenants/acme/groups/${globexGroup.id}/delete`, { confirm: 'yes' })).status, 404, 'nor through their own tenant');
      await server.services.groups.delete('globex', globexGroup.id);
    });

    test('forms from another site, or without an Origin, change nothing', async () => {
      const { ua } = await tenantAdmin(server, 'acme', 'csrf@acme.example');
      for (const origin of ['https://evil.example', null]) {
        const response = await postForm(ua, '/admin/tenants/acme/settings/branding', { displayName: 'Hacked' }, origin);
        assert.equal(response.status, 403);
      }
      assert.equal((await server.services.tenants.requireTenant('acme')).name, 'Acme');
    });

    test('settings: sign-up and recovery, branding and the authenticator policy are saved; bad values are refused with the reason', async () => {
      const { ua } = await tenantAdmin(server, 'acme', 'settings@acme.example');
      let response = await postForm(ua, '/admin/tenants/acme/settings/signup', { emailVerification: 'off', emailRecovery: 'off' });
      assert.equal(response.status, 303);
      assert.equal(response.headers.get('location'), '/admin/tenants/acme/settings?done=signup');
      let tenant = await server.services.tenants.requireTenant('acme');
      assert.equal(tenant.emailVerification, 'off');
      assert.equal(tenant.emailRecovery, false);
      assert.match((await ua.get(`${server.origin}/admin/tenants/acme/settings?done=signup`)).text, /Sign-up and recovery are saved/);

      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      response = await postForm(ua, '/admin/tenants/acme/settings/branding', { displayName: 'Acme Ltd', ownColour: 'on', brandColour: '#0f766e', logo: `data:image/png;base64,${png.toString('base64')}` });
      assert.equal(response.status, 303, response.text.slice(0, 500));
      tenant = await server.services.tenants.requireTenant('acme');
      assert.equal(tenant.name, 'Acme Ltd');
      assert.equal(tenant.brandColour, '#0f766e');
      assert.ok(tenant.logoVersion);

      response = await postForm(ua, '/admin/tenants/acme/settings/branding', { displayName: 'Acme Ltd', logo: 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=' });
      assert.equal(response.status, 400);
      assert.match(response.text, /SVG logos are not accepted/);
      assert.match(response.text, /<h1>Settings<\/h1>/, 'the settings page again, with the reason');
      tenant = await server.services.tenants.requireTenant('acme');
      assert.equal(tenant.brandColour, '#0f766e', 'a refused logo changed nothing');

      const policy = {
        trust: 'any', minimumCertification: 'L1', attestation: 'direct', syncedPasskeys: 'device-bound-only', userVerification: 'required',
        residentKey: 'required', attachment: 'any', counterRegression: 'deny', algorithms: ['ES256', 'RS256'],
        aaguidAllow: '', aaguidDeny: 'ee882879-721c-4913-9775-3dfcce97072a', relatedOrigins: 'https://login.acme.example',
      };
      response = await postForm(ua, '/admin/tenants/acme/settings/policy', policy);
      assert.equal(response.status, 303, response.text.slice(0, 500));
      tenant = await server.services.tenants.requireTenant('acme');
      assert.equal(tenant.authenticatorPolicy?.syncedPasskeys, 'device-bound-only');
      assert.deepEqual(tenant.authenticatorPolicy?.algorithms, [-7, -257]);
      assert.deepEqual(tenant.authenticatorPolicy?.aaguidDeny, ['ee882879-721c-4913-9775-3dfcce97072a']);
      assert.deepEqual(tenant.relatedOrigins, ['https://login.acme.example']);

      // Every box the page offers, ticked, is the default: it follows the runtime (ML-DSA once it has it), as the CLI's `--algorithms default`.
      const page = await ua.get(`${server.origin}/admin/tenants/acme/settings`);
      const offered = [...page.text.matchAll(/name="algorithms" value="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(offered.includes('ES256') && offered.includes('EdDSA'));
      response = await postForm(ua, '/admin/tenants/acme/settings/policy', { ...policy, algorithms: offered });
      assert.equal(response.status, 303, response.text.slice(0, 500));
      assert.equal((await server.services.tenants.requireTenant('acme')).authenticatorPolicy?.algorithms, 'default');
      response = await postForm(ua, '/admin/tenants/acme/settings/policy', { ...policy, algorithms: ['ES256', 'NOPE'] });
      assert.equal(response.status, 400);
      assert.match(readable(response.text), /"NOPE" is not a signature algorithm this server verifies/);
      await postForm(ua, '/admin/tenants/acme/settings/policy', policy);

      for (const [change, reason] of [
        [{ relatedOrigins: 'http://insecure.example' }, /is not an https origin/],
        [{ aaguidDeny: 'not-an-aaguid' }, /is not an AAGUID/],
        [{ algorithms: [] }, /at least one signature algorithm/],
        [{ userVerification: 'sometimes' }, /userVerification/],
      ] as const) {
        response = await postForm(ua, '/admin/tenants/acme/settings/policy', { ...policy, ...change } as Record<string, string | string[]>);
        assert.equal(response.status, 400, JSON.stringify(change));
        assert.match(readable(response.text), reason);
      }
      assert.equal((await server.services.tenants.requireTenant('acme')).authenticatorPolicy?.userVerification, 'required');
      const changes = await server.services.audit.page({ tenantId: 'acme', type: 'admin.tenant_changed' }, 10);
      assert.ok(changes.every((e) => e.actor === 'admin:settings@acme.example'));
      assert.equal(changes.length, 5, 'one event per saved form, none for the refused ones');
    });

    test('signing keys: the page lists them, rotating publishes the next one', async () => {
      const { ua } = await tenantAdmin(server, 'acme', 'keys@acme.example');
      const before = await server.services.signingKeys.describe('acme');
      assert.equal(before.filter((k) => k.state === 'signing').length, 1);
      const page = await ua.get(`${server.origin}/admin/tenants/acme/keys`);
      assert.match(page.text, new RegExp(before[0].kid));
      const rotated = await postForm(ua, '/admin/tenants/acme/keys/rotate', {});
      assert.equal(rotated.status, 303);
      const after = await server.services.signingKeys.describe('acme');
      const next = after.find((k) => k.state === 'next');
      assert.ok(next, 'a key is published to sign next');
      assert.match((await ua.get(`${server.origin}/admin/tenants/acme/keys?done=rotated`)).text, new RegExp(`${next.kid}[\\s\\S]*Published, signs next`));
      const [event] = await server.services.audit.page({ tenantId: 'acme', type: 'admin.keys_rotated' }, 1);
      assert.equal(event.detail.kid, next.kid);
      assert.equal(event.actor, 'admin:keys@acme.example');
    });

    test('administrators: an invitation is mailed, accepted once, and the new administrator can be removed (not oneself)', async () => {
      const { ua } = await tenantAdmin(server, 'globex', 'boss@globex.example');
      const since = Date.now() - 1;
      const invited = await postForm(ua, '/admin/tenants/globex/admins/invite', { email: 'new@globex.example' });
      assert.equal(invited.status, 303);
      const link = await mailedLink(server.origin, 'new@globex.example', 'admin-invite', since, '/admin/enrol#');
      const page = await ua.get(`${server.origin}/admin/tenants/globex/admins`);
      assert.match(page.text, /Invitations not accepted yet[\s\S]*new@globex\.example/);

      const newcomer = await enrolled(server, link);
      assert.equal(newcomer.redirectTo, '/admin/tenants/globex');
      const admins = await server.services.adminAccounts.listAdmins('globex');
      const added = admins.find((a) => a.email === 'new@globex.example')!;
      assert.ok(added);
      assert.equal((await postForm(ua, '/admin/tenants/globex/admins/invite', { email: 'new@globex.example' })).status, 409, 'already an administrator');
      assert.equal((await postForm(ua, '/admin/tenants/globex/admins/invite', { email: 'not an address' })).status, 400);

      const me = admins.find((a) => a.email === 'boss@globex.example')!;
      const self = await postForm(ua, '/admin/tenants/globex/admins/remove', { adminId: me.id });
      assert.equal(self.status, 400);
      assert.match(readable(self.text), /cannot remove yourself/);
      const removed = await postForm(ua, '/admin/tenants/globex/admins/remove', { adminId: added.id });
      assert.equal(removed.status, 303);
      assert.equal((await newcomer.ua.get(`${server.origin}/admin/tenants/globex`)).status, 302, 'the removed administrator\'s session ended');
      const signIn = await consoleSignIn(new UserAgent(server.origin), newcomer.authenticator);
      assert.equal(signIn.status, 400, 'their passkey no longer opens the console');

      const acmeAdmin = (await server.services.adminAccounts.listAdmins('acme'))[0]!;
      assert.equal((await postForm(ua, '/admin/tenants/globex/admins/remove', { adminId: acmeAdmin.id })).status, 404, 'another tenant\'s administrator cannot be removed from here');

      const withdrawSince = Date.now() - 1;
      await postForm(ua, '/admin/tenants/globex/admins/invite', { email: 'maybe@globex.example' });
      const maybeLink = await mailedLink(server.origin, 'maybe@globex.example', 'admin-invite', withdrawSince, '/admin/enrol#');
      const [open] = await server.services.adminAccounts.listOpenInvitations('globex');
      assert.equal((await postForm(ua, '/admin/tenants/globex/admins/withdraw', { invitationId: open!.id })).status, 303);
      assert.equal((await enrol(new UserAgent(server.origin), maybeLink, new SoftwareAuthenticator())).json().error, 'invitation_invalid');
    });

    test('a tenant user\'s passkey does not open the console', async () => {
      await server.services.tenants.createTenant('initech', 'Initech');
      const client = await createClient(server, { tenantId: 'initech' });
      const authenticator = new SoftwareAuthenticator();
      const person = new UserAgent(server.origin);
      const { base } = await openSignInPage(person, authorizeUrl(server, client, {}, 'initech'));
      await finishAtRp(person, await signUp(person, authenticator, base, 'someone@initech.example', 'Someone'));
      const response = await consoleSignIn(new UserAgent(server.origin), authenticator);
      assert.equal(response.status, 400);
      assert.equal(response.json().error, 'unknown_credential');
    });

    test('the dashboard counts sign-ins per day by way and outcome, failures by reason, and active people; the audit log filters and exports', async () => {
      const { ua } = await operator(server, 'dash@example.com');
      const client = await createClient(server, { tenantId: 'globex' });
      const person = new UserAgent(server.origin);
      const authenticator = new SoftwareAuthenticator();
      const { base } = await openSignInPage(person, authorizeUrl(server, client, {}, 'globex'));
      await finishAtRp(person, await signUp(person, authenticator, base, 'dana@globex.example', 'Dana'));
      const other = new UserAgent(server.origin);
      const page = await openSignInPage(other, authorizeUrl(server, client, {}, 'globex'));
      const start = (await other.postJson(`${page.base}/signin/options`, {})).json();
      const stranger = new SoftwareAuthenticator();
      stranger.createCredential({ challenge: 'AAAA', rp: { id: 'localhost', name: 'x' }, user: { id: 'eA', name: 'x', displayName: 'x' }, pubKeyCredParams: [{ type: 'public-key', alg: -7 }] } as never, server.origin);
      const refused = await other.postJson(`${page.base}/signin/verify`, { challengeId: start.challengeId, response: stranger.getAssertion(start.options, server.origin) });
      assert.equal(refused.status, 400);

      const stats = await server.services.auditStats.dashboard('globex', 14);
      const today = stats.days[0]!;
      assert.equal(today.day, new Date().toISOString().slice(0, 10));
      assert.equal(today.counts.signup.succeeded, 1);
      assert.equal(today.counts.passkey.failed, 1);
      assert.deepEqual(stats.failures, [{ reason: 'unknown_credential', count: 1 }]);
      assert.equal(stats.activeUsers.day, 1);
      const dashboard = await ua.get(`${server.origin}/admin/tenants/globex`);
      assert.equal(dashboard.status, 200);
      assert.match(dashboard.text, /A passkey this tenant does not know/);
      assert.match(dashboard.text, /<code class="value">http:\/\/localhost:\d+\/globex\/oidc<\/code>/, 'the issuer');

      const filtered = await ua.get(`${server.origin}/admin/tenants/globex/audit?type=signup.succeeded&user=dana%40globex.example`);
      assert.equal(filtered.status, 200);
      assert.match(filtered.text, /1 event</);
      assert.match(filtered.text, /dana@globex\.example/);
      assert.equal((await ua.get(`${server.origin}/admin/tenants/globex/audit?since=2025-02-30`)).status, 400);
      assert.equal((await ua.get(`${server.origin}/admin/tenants/globex/audit?type=%3Cscript%3E`)).status, 400);
      const exported = await ua.get(`${server.origin}/admin/tenants/globex/audit/export?type=signin.failed`);
      assert.equal(exported.headers.get('content-type'), 'application/x-ndjson');
      const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => [l.type, l.detail.reason, l.tenant]), [['signin.failed', 'unknown_credential', 'globex']]);
    });
    test('applications: a B2C client with its secret shown once and the values for B2C\'s form; the mail has no secret; redirect URIs, a new secret, delete', async () => {
      const { ua } = await tenantAdmin(server, 'acme', 'apps@acme.example');
      const since = Date.now() - 1;
      const created = await postForm(ua, '/admin/tenants/acme/clients', { kind: 'b2c', b2cTenant: 'contoso' });
      assert.equal(created.status, 200, created.text.slice(0, 500));
      assert.equal(created.headers.get('cache-control'), 'no-store');
      const secret = /id="client-secret">([^<]+)</.exec(created.text)?.[1];
      const clientId = /<dt>Client ID<\/dt><dd><code class="value">([^<]+)</.exec(created.text)?.[1];
      assert.ok(secret && clientId);
      for (const value of [`${server.origin}/acme/oidc/.well-known/openid-configuration`, 'form_post', 'openid profile email',
        'https://contoso.b2clogin.com/contoso.onmicrosoft.com/oauth2/authresp', 'Identity provider claims mapping: User ID']) {
        assert.ok(created.text.includes(value), value);
      }
      const mail = await queuedMail<{ fields: Array<{ label: string; value: string }> }>(server.origin, 'apps@acme.example', 'client-created', since);
      const mailed = JSON.stringify(mail.data ?? mail.text);
      assert.ok(mailed.includes(clientId), 'the mail has the client id');
      assert.ok(!mailed.includes(secret), 'but never the secret');
      assert.ok(!(await ua.get(`${server.origin}/admin/tenants/acme/clients/${clientId}`)).text.includes(secret), 'the secret is not shown again');

      const bad = await postForm(ua, '/admin/tenants/acme/clients', { kind: 'b2c', b2cTenant: 'not a name!' });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /is not a B2C tenant name/);
      assert.match(bad.text, /value="not a name!"/, 'what was typed stays in the form');
      assert.equal((await postForm(ua, '/admin/tenants/acme/clients', { kind: 'other', redirectUris: 'http://rp.example/cb' })).status, 400, 'http is for localhost only');
      assert.equal((await postForm(ua, '/admin/tenants/acme/clients', { kind: 'mystery' })).status, 400);

      const base = `/admin/tenants/acme/clients/${clientId}`;
      assert.equal((await postForm(ua, `${base}/redirect-uris`, { redirectUris: 'not a url' })).status, 400);
      const uris = await postForm(ua, `${base}/redirect-uris`, { redirectUris: 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/oauth2/authresp\nhttps://app.acme.example/cb', postLogoutRedirectUris: '' });
      assert.equal(uris.status, 303);
      assert.deepEqual((await server.services.clientAdmin.get('acme', clientId)).redirectUris, ['https://contoso.b2clogin.com/contoso.onmicrosoft.com/oauth2/authresp', 'https://app.acme.example/cb']);

      assert.equal((await postForm(ua, `${base}/rotate-secret`, {})).status, 400, 'a new secret needs the box ticked');
      const rotated = await postForm(ua, `${base}/rotate-secret`, { confirm: 'yes' });
      assert.equal(rotated.status, 200);
      const newSecret = /id="client-secret">([^<]+)</.exec(rotated.text)?.[1];
      assert.ok(newSecret && newSecret !== secret);

      const staff = await server.services.groups.create('acme', { name: 'Acme staff' });
      assert.match((await ua.get(`${server.origin}${base}`)).text, /Only members of these groups may sign in[\s\S]*Acme staff/);
      const httpLogout = await postForm(ua, `${base}/access`, { backchannelLogoutUri: 'http://rp.example/logout', allowedGroups: staff.id });
      assert.equal(httpLogout.status, 400, 'http is for localhost only');
      assert.match(httpLogout.text, /<h2 id="access-heading">/, 'the application\'s page again, with the reason');
      assert.equal((await postForm(ua, `${base}/access`, { allowedGroups: 'no-such-group' })).status, 400);
      const access = await postForm(ua, `${base}/access`, { backchannelLogoutUri: 'https://app.acme.example/logout', allowedGroups: staff.id });
      assert.equal(access.status, 303);
      assert.equal(access.headers.get('location'), `${base}?done=access`);
      let summary = await server.services.clientAdmin.get('acme', clientId);
      assert.equal(summary.backchannelLogoutUri, 'https://app.acme.example/logout');
      assert.deepEqual(summary.allowedGroups, [staff.id]);
      const shownAccess = await ua.get(`${server.origin}${base}?done=access`);
      assert.match(shownAccess.text, /value="https:\/\/app\.acme\.example\/logout"/);
      assert.match(shownAccess.text, new RegExp(`value="${staff.id}" checked`));
      assert.equal((await postForm(ua, `${base}/access`, { backchannelLogoutUri: '' })).status, 303, 'nothing ticked and no URI: everyone, no logout');
      summary = await server.services.clientAdmin.get('acme', clientId);
      assert.equal(summary.backchannelLogoutUri, null);
      assert.deepEqual(summary.allowedGroups, []);

      const { ua: outsider } = await tenantAdmin(server, 'globex', 'outsider@globex.example');
      for (const path of [base, `/admin/tenants/globex/clients/${clientId}`]) assert.equal((await outsider.get(`${server.origin}${path}`)).status, 404, path);
      assert.equal((await postForm(outsider, `/admin/tenants/globex/clients/${clientId}/access`, { backchannelLogoutUri: 'https://evil.example/logout' })).status, 404, 'another tenant\'s access cannot be changed');
      assert.equal((await postForm(outsider, `${base}/access`, { backchannelLogoutUri: 'https://evil.example/logout' })).status, 404);
      assert.equal((await server.services.clientAdmin.get('acme', clientId)).backchannelLogoutUri, null);
      assert.equal((await postForm(outsider, `/admin/tenants/globex/clients/${clientId}/delete`, { confirm: 'yes' })).status, 404, 'not through another tenant either');
      assert.equal((await postForm(ua, `${base}/delete`, {})).status, 400);
      assert.equal((await postForm(ua, `${base}/delete`, { confirm: 'yes' })).status, 303);
      assert.equal((await ua.get(`${server.origin}${base}`)).status, 404);
      const events = (await server.services.audit.page({ tenantId: 'acme' }, 50)).filter((e) => e.type.startsWith('admin.client'));
      assert.deepEqual(events.map((e) => e.type).sort(), ['admin.client_changed', 'admin.client_changed', 'admin.client_changed', 'admin.client_created', 'admin.client_deleted', 'admin.client_secret_rotated']);
      assert.ok(events.every((e) => e.actor === 'admin:apps@acme.example'));
    });

    test('users: search, a person\'s passkeys, disable and enable, a recovery link to their address, delete', async () => {
      await server.services.tenants.createTenant('umbrella', 'Umbrella');
      const client = await createClient(server, { tenantId: 'umbrella' });
      const authenticator = new SoftwareAuthenticator();
      const person = new UserAgent(server.origin);
      const { base } = await openSignInPage(person, authorizeUrl(server, client, {}, 'umbrella'));
      await finishAtRp(person, await signUp(person, authenticator, base, 'jill@umbrella.example', 'Jill Valentine'));
      const { ua } = await tenantAdmin(server, 'umbrella', 'it@umbrella.example');

      const list = await ua.get(`${server.origin}/admin/tenants/umbrella/users?q=VALENT`);
      assert.equal(list.status, 200);
      const href = /href="(\/admin\/tenants\/umbrella\/users\/[^"]+)">jill@umbrella\.example/.exec(list.text)?.[1];
      assert.ok(href, 'found by part of the name, any case');
      assert.match((await ua.get(`${server.origin}/admin/tenants/umbrella/users?q=nobody`)).text, /Nobody matches/);
      const page = await ua.get(`${server.origin}${href}`);
      assert.match(page.text, /id="passkeys-table"/);
      assert.match(page.text, /<td>Make and model not verified<\/td>/, 'what the passkey proved of its model, as the account page says it');
      assert.match(page.text, /Active/);

      assert.equal((await postForm(ua, `${href}/disable`, {})).status, 303);
      const again = new UserAgent(server.origin);
      const signInPage = await openSignInPage(again, authorizeUrl(server, client, {}, 'umbrella'));
      const start = (await again.postJson(`${signInPage.base}/signin/options`, {})).json();
      const refused = await again.postJson(`${signInPage.base}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) });
      assert.equal(refused.json().error, 'account_disabled');
      const twice = await postForm(ua, `${href}/disable`, {});
      assert.equal(twice.status, 400);
      assert.match(twice.text, /already disabled/);
      assert.equal((await postForm(ua, `${href}/enable`, {})).status, 303);
      await finishAtRp(again, await signIn(again, authenticator, (await openSignInPage(again, authorizeUrl(server, client, {}, 'umbrella'))).base));

      const since = Date.now() - 1;
      assert.equal((await postForm(ua, `${href}/recovery-link`, {})).status, 303);
      const link = await mailedLink(server.origin, 'jill@umbrella.example', 'recovery-link', since, '/recovery');
      assert.match(link, /\/umbrella\/recovery/);
      assert.doesNotMatch((await ua.get(`${server.origin}${href}?done=link-sent`)).text, new RegExp(link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the administrator never sees the link');

      const { ua: outsider } = await tenantAdmin(server, 'globex', 'peeker@globex.example');
      const userId = href.split('/').pop()!;
      assert.equal((await outsider.get(`${server.origin}${href}`)).status, 404);
      assert.equal((await postForm(outsider, `/admin/tenants/globex/users/${userId}/delete`, { confirm: 'yes' })).status, 404);
      assert.equal((await postForm(ua, `${href}/delete`, {})).status, 400);
      assert.equal((await postForm(ua, `${href}/delete`, { confirm: 'yes' })).status, 303);
      assert.equal((await ua.get(`${server.origin}${href}`)).status, 404);
    });
    test('groups and claims: a group is created, given claim values and members; refused forms say why; a claim is removed; the group deleted', async () => {
      await server.services.tenants.createTenant('hooli', 'Hooli');
      const client = await createClient(server, { tenantId: 'hooli' });
      const person = new UserAgent(server.origin);
      const { base } = await openSignInPage(person, authorizeUrl(server, client, {}, 'hooli'));
      await finishAtRp(person, await signUp(person, new SoftwareAuthenticator(), base, 'gavin@hooli.example', 'Gavin Belson'));
      const { ua } = await tenantAdmin(server, 'hooli', 'it@hooli.example');

      assert.match((await ua.get(`${server.origin}/admin/tenants/hooli/groups`)).text, /There is no group yet/);
      const noName = await postForm(ua, '/admin/tenants/hooli/groups', { name: '  ' });
      assert.equal(noName.status, 400);
      assert.match(readable(noName.text), /Give the group a name/);
      const created = await postForm(ua, '/admin/tenants/hooli/groups', { name: 'Engineering' });
      assert.equal(created.status, 303);
      const groupPath = created.headers.get('location')!.replace(/\?done=created$/, '');
      assert.match(groupPath, /^\/admin\/tenants\/hooli\/groups\/[A-Za-z0-9_-]+$/);
      const twice = await postForm(ua, '/admin/tenants/hooli/groups', { name: 'Engineering' });
      assert.equal(twice.status, 409);
      assert.match(readable(twice.text), /has a group called "Engineering" already/);
      assert.match(twice.text, /value="Engineering"/, 'what was typed stays in the form');

      const reserved = await postForm(ua, '/admin/tenants/hooli/claims', { name: 'email', type: 'string' });
      assert.equal(reserved.status, 400);
      assert.match(readable(reserved.text), /"email" is a standard claim/);
      assert.equal((await postForm(ua, '/admin/tenants/hooli/claims', { name: 'level', type: 'colour' })).status, 400);
      for (const [name, type] of [['department', 'string'], ['level', 'number'], ['admin', 'boolean'], ['roles', 'string_array']]) {
        assert.equal((await postForm(ua, '/admin/tenants/hooli/claims', { name: name!, type: type! })).status, 303, name);
      }
      assert.deepEqual((await server.services.customClaims.definitions('hooli')).map((d) => [d.name, d.type]).sort(),
        [['admin', 'boolean'], ['department', 'string'], ['level', 'number'], ['roles', 'string_array']]);

      const notNumber = await postForm(ua, `${groupPath}/claims`, { 'claim_department': 'R&D', 'claim_level': 'high' });
      assert.equal(notNumber.status, 400);
      assert.match(readable(notNumber.text), /Claim "level" is a number/);
      assert.match(notNumber.text, /value="high"/, 'the values typed stay in the form');
      const saved = await postForm(ua, `${groupPath}/claims`, { 'claim_department': 'R&D', 'claim_level': '3', 'claim_admin': 'false', 'claim_roles': 'build\r\n\r\nship\n' });
      assert.equal(saved.status, 303);
      const groupId = groupPath.split('/').pop()!;
      assert.deepEqual((await server.services.groups.get('hooli', groupId)).claims, { department: 'R&D', level: 3, admin: false, roles: ['build', 'ship'] });

      const stranger = await postForm(ua, `${groupPath}/members`, { email: 'nobody@hooli.example' });
      assert.equal(stranger.status, 400);
      assert.match(readable(stranger.text), /Nobody in Hooli has the address nobody@hooli\.example/);
      assert.equal((await postForm(ua, `${groupPath}/members`, { email: 'Gavin@Hooli.example' })).status, 303);
      const page = await ua.get(`${server.origin}${groupPath}?done=added`);
      assert.match(page.text, /The person is now a member/);
      assert.match(page.text, /gavin@hooli\.example/);
      const [gavin] = (await server.services.userAdmin.search('hooli', { query: 'gavin' })).users;
      assert.deepEqual(await server.services.customClaims.claimsFor('hooli', gavin!.id), { department: 'R&D', level: 3, admin: false, roles: ['build', 'ship'] });
      assert.equal((await postForm(ua, `${groupPath}/members/remove`, { userId: gavin!.id })).status, 303);
      assert.deepEqual((await server.services.groups.get('hooli', groupId)).members, []);

      assert.equal((await postForm(ua, '/admin/tenants/hooli/claims/remove', { name: 'level' })).status, 303);
      assert.equal((await postForm(ua, '/admin/tenants/hooli/claims/remove', { name: 'level' })).status, 404, 'removed already: the list again, with the reason');
      assert.equal((await postForm(ua, `${groupPath}/rename`, { name: 'Platform' })).status, 303);
      assert.equal((await postForm(ua, `${groupPath}/delete`, {})).status, 400);
      assert.equal((await postForm(ua, `${groupPath}/delete`, { confirm: 'yes' })).status, 303);
      assert.equal((await ua.get(`${server.origin}${groupPath}`)).status, 404);
      const events = (await server.services.audit.page({ tenantId: 'hooli' }, 50)).filter((e) => e.type.startsWith('admin.group') || e.type === 'admin.claims_changed');
      assert.ok(events.length >= 10);
      assert.ok(events.every((e) => e.actor === 'admin:it@hooli.example'));
    });
    test('invitations: sign-up by invitation only; an invitation mailed (its link only in the mail) or shown once; refused forms say why; withdrawn', async () => {
      await server.services.tenants.createTenant('vandelay', 'Vandelay');
      const group = await server.services.groups.create('vandelay', { name: 'Importers' });
      const { ua } = await tenantAdmin(server, 'vandelay', 'art@vandelay.example');
      assert.match((await ua.get(`${server.origin}/admin/tenants/vandelay/invitations`)).text, /There is no invitation yet/);
      assert.equal((await postForm(ua, '/admin/tenants/vandelay/invitations/signup', { signup: 'invitation' })).status, 303);
      assert.equal((await server.services.tenants.requireTenant('vandelay')).signup, 'invitation');
      assert.equal((await postForm(ua, '/admin/tenants/vandelay/invitations/signup', { signup: 'whoever' })).status, 400);

      const noAddress = await postForm(ua, '/admin/tenants/vandelay/invitations', { send: 'on', maxUses: '1', days: '7' });
      assert.equal(noAddress.status, 400);
      assert.match(readable(noAddress.text), /To send an invitation, give the address it is for/);
      const tooLong = await postForm(ua, '/admin/tenants/vandelay/invitations', { email: 'kel@vandelay.example', maxUses: '1', days: '90' });
      assert.equal(tooLong.status, 400);
      assert.match(tooLong.text, /value="kel@vandelay\.example"/, 'what was typed stays in the form');
      assert.equal((await postForm(ua, '/admin/tenants/vandelay/invitations', { email: 'not an address', send: 'on', maxUses: '1', days: '7' })).status, 400);
      assert.equal((await postForm(ua, '/admin/tenants/vandelay/invitations', { maxUses: '1', days: '7', groupIds: 'nope' })).status, 400, 'an unknown group');
      assert.equal((await server.services.invitations.list('vandelay')).length, 0, 'refused forms made no invitation');

      const since = Date.now() - 1;
      const sent = await postForm(ua, '/admin/tenants/vandelay/invitations', { email: 'Kel@Vandelay.example', send: 'on', maxUses: '1', days: '7', groupIds: group.id });
      assert.equal(sent.status, 303);
      assert.equal(sent.headers.get('location'), '/admin/tenants/vandelay/invitations?done=sent');
      const link = await mailedLink(server.origin, 'kel@vandelay.example', 'invitation', since, '/vandelay/invitation#');
      assert.match(link, /\/vandelay\/invitation#token=/);
      const listed = await ua.get(`${server.origin}/admin/tenants/vandelay/invitations?done=sent`);
      assert.match(listed.text, /The invitation is on its way/);
      assert.match(listed.text, /kel@vandelay\.example[\s\S]*Open[\s\S]*Importers/);
      assert.ok(!listed.text.includes(link.split('#')[1]!), 'the administrator never sees a mailed link');

      const shown = await postForm(ua, '/admin/tenants/vandelay/invitations', { maxUses: '3', days: '2' });
      assert.equal(shown.status, 200);
      assert.equal(shown.headers.get('cache-control'), 'no-store');
      const token = /id="invitation-link">[^<]*#token=([^<]+)</.exec(shown.text)?.[1];
      assert.ok(token, shown.text.slice(0, 500));
      assert.ok(await server.services.invitations.usable('vandelay', token), 'the link shown works');
      assert.ok(!(await ua.get(`${server.origin}/admin/tenants/vandelay/invitations`)).text.includes(token), 'and is not shown again');

      const open = (await server.services.invitations.list('vandelay')).find((i) => i.email === null)!;
      assert.equal((await postForm(ua, '/admin/tenants/vandelay/invitations/withdraw', { invitationId: open.id })).status, 303);
      assert.equal(await server.services.invitations.usable('vandelay', token), undefined);
      const again = await postForm(ua, '/admin/tenants/vandelay/invitations/withdraw', { invitationId: open.id });
      assert.equal(again.status, 400);
      assert.match(readable(again.text), /revoked already/);
      const events = (await server.services.audit.page({ tenantId: 'vandelay' }, 50)).filter((e) => e.type.startsWith('admin.invitation') || e.type === 'admin.tenant_changed');
      assert.deepEqual(events.map((e) => e.type).sort(), ['admin.invitation_created', 'admin.invitation_created', 'admin.invitation_revoked', 'admin.tenant_changed']);
      assert.ok(events.every((e) => e.actor === 'admin:art@vandelay.example'));
    });
    test('API tokens: made in the console (shown once), they open the admin API for this tenant only, until revoked', async () => {
      const { ua } = await tenantAdmin(server, 'acme', 'tokens@acme.example');
      assert.equal((await postForm(ua, '/admin/tenants/acme/tokens', { name: 'sync', days: '0' })).status, 400);
      const made = await postForm(ua, '/admin/tenants/acme/tokens', { name: 'sync job', days: '30' });
      assert.equal(made.status, 200, made.text.slice(0, 300));
      const token = /id="api-token">([^<]+)</.exec(made.text)?.[1];
      assert.ok(token);
      const api = (path: string) => fetch(`${server.origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await api('/api/tenants/acme/clients')).status, 200);
      assert.equal((await api('/api/tenants/globex/clients')).status, 404, 'another tenant is not found');
      const page = await ua.get(`${server.origin}/admin/tenants/acme/tokens`);
      assert.ok(!page.text.includes(token), 'the token is not shown again');
      const [record] = (await server.services.apiTokens.list('acme')).filter((t) => t.name === 'sync job');
      const { ua: outsider } = await tenantAdmin(server, 'globex', 'tokens@globex.example');
      assert.equal((await postForm(outsider, '/admin/tenants/globex/tokens/revoke', { tokenId: record!.id })).status, 404, 'another tenant\'s token cannot be revoked');
      assert.equal((await api('/api/tenants/acme/clients')).status, 200);
      assert.equal((await postForm(ua, '/admin/tenants/acme/tokens/revoke', { tokenId: record!.id })).status, 303);
      assert.equal((await api('/api/tenants/acme/clients')).status, 401);
    });
  });
}
