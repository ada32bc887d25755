import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { enrol, enrolled, postForm, readable } from './support/admin.js';
import { mailedLink, queuedMail } from './support/mailbox.js';
import { sesameCli } from './support/cli.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';

/**
 * Tenant onboarding at PUBLIC_URL/onboard: ONBOARDING=off|open|invite, the live tenant id check,
 * the verification mail whose link creates the tenant with its first administrator, the 24-hour
 * hold on a tenant id, the limits per network and per e-mail domain, and single use under concurrency.
 */
const ATTEMPTS = 16;

async function apply(ua: UserAgent, fields: Record<string, string>) {
  await ua.get(`${ua.origin}/onboard`);
  return postForm(ua, '/onboard', fields);
}

describe('onboarding is off by default', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer('sqlite'); });
  after(() => server.close());

  test('the form, its check and its action do not exist', async () => {
    const ua = new UserAgent(server.origin);
    assert.equal((await ua.get(`${server.origin}/onboard`)).status, 404);
    assert.equal((await ua.get(`${server.origin}/onboard/check?id=acme`)).status, 404);
    assert.equal((await postForm(ua, '/onboard', { organisation: 'Acme', tenantId: 'acme', email: 'a@acme.example' })).status, 404);
    assert.equal(await server.services.tenants.findTenant('acme'), undefined);
  });
});

for (const db of await databases()) {
  describe(`open onboarding (${db})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(db, { env: { ONBOARDING: 'open', ONBOARDING_LIMIT_PER_IP: '1000', ONBOARDING_LIMIT_PER_DOMAIN: '1000' } });
      await server.services.tenants.createTenant('taken', 'Taken Inc');
    });
    after(() => server.close());

    test('the tenant id is checked as it is typed: its form, Sesame\'s own names, tenants that exist', async () => {
      const ua = new UserAgent(server.origin);
      const check = async (id: string) => (await ua.get(`${server.origin}/onboard/check?id=${encodeURIComponent(id)}`)).json();
      assert.deepEqual(await check('fresh-co'), { id: 'fresh-co', available: true });
      assert.match((await check('-bad')).problem, /lower-case letters/);
      assert.match((await check('a'.repeat(41))).problem, /1–40/);
      assert.match((await check('admin')).problem, /taken by Sesame itself/);
      assert.match((await check('onboard')).problem, /taken by Sesame itself/);
      assert.match((await check('taken')).problem, /already taken/);
      assert.equal((await ua.get(`${server.origin}/onboard/check`)).status, 400);
    });

    test('an application holds the tenant id and mails a link; the link creates the tenant and its first administrator, once', async () => {
      const ua = new UserAgent(server.origin);
      const since = Date.now() - 1;
      const sent = await apply(ua, { organisation: 'Wayne Enterprises', tenantId: 'wayne', email: 'Bruce@Wayne.example' });
      assert.equal(sent.status, 200, sent.text.slice(0, 500));
      assert.match(sent.text, /Check your mail/);
      assert.match(sent.text, /bruce@wayne\.example/);
      assert.equal(await server.services.tenants.findTenant('wayne'), undefined, 'nothing exists before the address is proved');
      assert.match((await ua.get(`${server.origin}/onboard/check?id=wayne`)).json().problem, /already taken/, 'the id is held');
      const second = await apply(new UserAgent(server.origin), { organisation: 'Someone Else', tenantId: 'wayne', email: 'other@else.example' });
      assert.equal(second.status, 409);
      assert.match(readable(second.text), /"wayne" is already taken/);
      assert.match(second.text, /value="Someone Else"/, 'the form keeps what was typed');
      assert.match(second.text, /id="tenant-id"[^>]*aria-invalid="true"/);

      const link = await mailedLink(server.origin, 'bruce@wayne.example', 'onboarding-verify', since, '/admin/enrol#');
      const { ua: admin, redirectTo, authenticator } = await enrolled(server, link);
      assert.equal(redirectTo, '/admin/tenants/wayne?done=welcome');
      const tenant = await server.services.tenants.requireTenant('wayne');
      assert.equal(tenant.name, 'Wayne Enterprises');
      assert.deepEqual((await server.services.adminAccounts.listAdmins('wayne')).map((a) => a.email), ['bruce@wayne.example']);
      const welcome = await admin.get(`${server.origin}${redirectTo}`);
      assert.match(welcome.text, /Your tenant is ready/);
      assert.match(welcome.text, new RegExp(`${server.origin}/wayne/oidc/.well-known/openid-configuration`));
      assert.match(welcome.text, /Create the B2C client/);
      const ready = await queuedMail<{ consoleUrl: string; issuer: string; metadataUrl: string }>(server.origin, 'bruce@wayne.example', 'tenant-ready', since);
      const details = JSON.stringify(ready.data ?? ready.text);
      for (const value of [`${server.origin}/admin/tenants/wayne`, `${server.origin}/wayne/oidc`, `${server.origin}/wayne/oidc/.well-known/openid-configuration`]) assert.ok(details.includes(value), value);
      assert.equal((await fetch(`${server.origin}/wayne/oidc/.well-known/openid-configuration`)).status, 200, 'the issuer is live');

      assert.equal((await enrol(new UserAgent(server.origin), link, new SoftwareAuthenticator())).json().error, 'invitation_invalid', 'the link works once');
      assert.equal((await enrol(new UserAgent(server.origin), link, authenticator)).status, 400);
      const events = await server.services.audit.page({ tenantId: 'wayne' }, 10);
      assert.deepEqual(events.map((e) => e.type).sort(), ['admin.enrolled', 'admin.tenant_created']);
      const [requested] = await server.services.audit.page({ tenantId: '*', type: 'onboarding.requested', userEmail: 'bruce@wayne.example' }, 1);
      assert.equal(requested?.detail.tenantId, 'wayne', 'the application is the operator\'s record, not the tenant\'s');
    });

    test('bad input is refused with the reason, and nothing is held', async () => {
      const ua = new UserAgent(server.origin);
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ organisation: '', tenantId: 'x1', email: 'a@x.example' }, /organisation's name/],
        [{ organisation: 'X\nY', tenantId: 'x1', email: 'a@x.example' }, /line breaks/],
        [{ organisation: 'X', tenantId: 'Not Valid', email: 'a@x.example' }, /lower-case letters/],
        [{ organisation: 'X', tenantId: 'x1', email: 'not-an-address' }, /name@example\.com/],
        [{ organisation: 'X', tenantId: 'x1', email: 'a@x.example', invitation: 'short' }, /not complete/],
        [{ organisation: 'X', tenantId: 'x1', email: 'a@x.example', invitation: 'A'.repeat(43) }, /expired or was already used/],
      ];
      for (const [fields, reason] of cases) {
        const response = await apply(ua, fields);
        assert.ok(response.status === 400 || response.status === 403, `${JSON.stringify(fields)}: ${response.status}`);
        assert.match(readable(response.text), reason);
      }
      assert.equal((await ua.get(`${server.origin}/onboard/check?id=x1`)).json().available, true);
      assert.equal((await ua.request(`${server.origin}/onboard`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'organisation=X&tenantId=x2&email=a%40x.example', origin: 'https://evil.example' })).status, 403);
    });

    test('a hold ends after 24 hours: the id is free again, and housekeeping removes it', async () => {
      const long = Date.now() - 25 * 3600_000;
      await server.services.onboarding.apply({ organisation: 'Old Co', tenantId: 'old-co', email: 'old@old.example', ip: '192.0.2.1' }, long);
      assert.equal((await server.services.onboarding.checkTenantId('old-co')).available, true);
      const ua = new UserAgent(server.origin);
      const since = Date.now() - 1;
      assert.equal((await apply(ua, { organisation: 'New Co', tenantId: 'old-co', email: 'new@new.example' })).status, 200);
      const link = await mailedLink(server.origin, 'new@new.example', 'onboarding-verify', since, '/admin/enrol#');
      await server.services.adminAccounts.purgeExpired();
      const pending = await server.services.database.db.selectFrom('pending_tenants').select(['id', 'name']).where('id', '=', 'old-co').execute();
      assert.deepEqual(pending, [{ id: 'old-co', name: 'New Co' }]);
      await enrolled(server, link);
      assert.equal((await server.services.tenants.requireTenant('old-co')).name, 'New Co');
    });

    test(`of ${ATTEMPTS} applications for one tenant id at once, exactly one holds it`, async () => {
      const results = await Promise.all(Array.from({ length: ATTEMPTS }, (_, i) => apply(new UserAgent(server.origin), { organisation: `Racer ${i}`, tenantId: 'race-co', email: `racer${i}@race${i}.example` })));
      assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
      assert.ok(results.every((r) => r.status === 200 || r.status === 409));
      const rows = await server.services.database.db.selectFrom('admin_invitations').select('email').where('tenant_id', '=', 'race-co').where('kind', '=', 'new-tenant').execute();
      assert.equal(rows.length, 1, 'one verification link');
    });
  });

  describe(`open onboarding limits (${db})`, () => {
    let server: TestServer;
    before(async () => { server = await startTestServer(db, { env: { ONBOARDING: 'open', ONBOARDING_LIMIT_PER_IP: '3', ONBOARDING_LIMIT_PER_DOMAIN: '2' } }); });
    after(() => server.close());

    test('applications are limited per e-mail domain and per network, each per hour', async () => {
      const ua = new UserAgent(server.origin);
      assert.equal((await apply(ua, { organisation: 'A', tenantId: 'lim-a', email: 'a@same.example' })).status, 200);
      assert.equal((await apply(ua, { organisation: 'B', tenantId: 'lim-b', email: 'b@SAME.example' })).status, 200);
      const domain = await apply(ua, { organisation: 'C', tenantId: 'lim-c', email: 'c@same.example' });
      assert.equal(domain.status, 429);
      assert.match(domain.text, /addresses of this domain/);
      assert.equal(domain.headers.get('retry-after'), '3600');
      assert.equal((await apply(ua, { organisation: 'D', tenantId: 'lim-d', email: 'd@other.example' })).status, 429, 'the network\'s third of three was the refused one, so this is its fourth');
      const network = await apply(ua, { organisation: 'E', tenantId: 'lim-e', email: 'e@third.example' });
      assert.match(network.text, /from your network/);
      assert.equal((await server.services.onboarding.checkTenantId('lim-c')).available, true, 'a refused application holds nothing');
    });
  });

  describe(`invite-only onboarding (${db})`, () => {
    const cli = sesameCli('sesame-onboard-cli', { ONBOARDING: 'invite', LOG_LEVEL: 'silent' });
    let server: TestServer;
    before(async () => {
      // On SQLite the server shares the CLI's data folder (its database and key), as a real installation does.
      server = await startTestServer(db, { env: { ONBOARDING: 'invite', ...(db === 'sqlite' ? { DATA_DIR: cli.dataDir() } : {}) } });
    });
    after(() => server.close());

    test('the form needs an invitation from `sesame tenant invite`, which works once', async () => {
      const ua = new UserAgent(server.origin);
      const form = await ua.get(`${server.origin}/onboard`);
      assert.match(form.text, /needs an invitation/);
      const without = await apply(ua, { organisation: 'Stark', tenantId: 'stark', email: 'tony@stark.example' });
      assert.equal(without.status, 403);
      assert.match(without.text, /needs an invitation/);

      const invitation = await server.services.onboarding.invite('tony@stark.example');
      assert.match(invitation.link, new RegExp(`^${server.origin}/onboard#invitation=[A-Za-z0-9_-]{43}$`));
      const token = new URL(invitation.link).hash.replace('#invitation=', '');
      const since = Date.now() - 1;
      assert.equal((await apply(ua, { organisation: 'Stark Industries', tenantId: 'stark', email: 'tony@stark.example', invitation: token })).status, 200);
      await mailedLink(server.origin, 'tony@stark.example', 'onboarding-verify', since, '/admin/enrol#');
      const reused = await apply(ua, { organisation: 'Stark Two', tenantId: 'stark-two', email: 'tony@stark.example', invitation: token });
      assert.equal(reused.status, 403);
      assert.match(reused.text, /expired or was already used/);
      assert.equal((await server.services.onboarding.checkTenantId('stark-two')).available, true);
    });

    test(`of ${ATTEMPTS} applications with one invitation at once, exactly one is accepted`, async () => {
      const { link } = await server.services.onboarding.invite('race@race.example');
      const token = new URL(link).hash.replace('#invitation=', '');
      const results = await Promise.all(Array.from({ length: ATTEMPTS }, (_, i) => apply(new UserAgent(server.origin), { organisation: `R${i}`, tenantId: `inv-race-${i}`, email: 'race@race.example', invitation: token })));
      assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join(','));
      const held = await server.services.database.db.selectFrom('pending_tenants').select('id').where('id', 'like', 'inv-race-%').execute();
      assert.equal(held.length, 1, 'the losers released the ids they held');
    });

    if (db === 'sqlite') {
      test('sesame tenant invite and sesame admin create print their links; the operator\'s link opens the console', async () => {
        const invited = await cli.sesame('tenant', 'invite', 'pepper@stark.example');
        assert.equal(invited.code, 0, invited.err);
        assert.match(invited.out, /\/onboard#invitation=[A-Za-z0-9_-]{43}/);
        assert.equal((await cli.sesame('tenant', 'invite', 'not-an-address')).code, 2);

        const created = await cli.sesame('admin', 'create', 'root@example.com');
        assert.equal(created.code, 0, created.err);
        const link = /(http\S+\/admin\/enrol#\S+)/.exec(created.out)?.[1];
        assert.ok(link, created.out);
        const { ua, redirectTo } = await enrolled(server, link.replace(/^http:\/\/localhost:\d+/, server.origin));
        assert.equal(redirectTo, '/admin/tenants');
        assert.equal((await ua.get(`${server.origin}/admin/tenants`)).status, 200);
        assert.equal((await cli.sesame('admin', 'create')).code, 2);
      });
    }
  });
}

describe('sesame tenant invite with onboarding off', () => {
  const cli = sesameCli('sesame-onboard-off', { ONBOARDING: 'off', LOG_LEVEL: 'silent' });
  test('says that the link would lead nowhere', async () => {
    const result = await cli.sesame('tenant', 'invite', 'someone@example.com');
    assert.equal(result.code, 1);
    assert.match(result.err, /ONBOARDING=off/);
  });
});
