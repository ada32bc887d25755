import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { attestationChain } from './support/attestation-certificates.js';

/**
 * API tokens and the settings the CLI changes, through the admin API. Authorization and bad input
 * on these endpoints are tested with every other endpoint (admin-api.test.ts walks the OpenAPI
 * document); here is what they do: a token made with a token never outlives it, a tenant's token
 * never reaches the operator's tokens or another tenant's, and each setting is checked as the CLI
 * checks it, takes effect where people meet it, and is audited as the API's change.
 */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const DAY = 86_400_000;

for (const db of await databases()) {
  describe(`admin API: tokens and CLI settings (${db})`, () => {
    let server: TestServer;
    let operator: { token: string; id: string; expiresAt: number };
    let demo: { token: string; id: string; expiresAt: number };
    let other: { token: string; id: string };

    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const response = await fetch(`${server.origin}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, text, json: () => JSON.parse(text) };
    };
    const auditEvents = async (type: string) => {
      const events = [];
      for await (const e of server.services.audit.list({ tenantId: 'demo', type })) events.push(e);
      return events;
    };

    before(async () => {
      server = await startTestServer(db);
      await server.services.tenants.createTenant('other', 'Other Org');
      const made = async (tenantId: string | null, expiresInDays: number) => {
        const { token, record } = await server.services.apiTokens.create({ tenantId, expiresInDays });
        return { token, id: record.id, expiresAt: record.expiresAt };
      };
      operator = await made(null, 90);
      demo = await made('demo', 30);
      other = await made('other', 30);
    });
    after(() => server.close());

    test('a tenant\'s token makes tokens for its tenant that never outlive it, shown once', async () => {
      const created = await call('POST', '/api/tenants/demo/tokens', demo.token, { name: 'CI deploys' });
      assert.equal(created.status, 201, created.text);
      const { token, apiToken } = created.json();
      assert.match(token, /^sesame_at_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual([apiToken.tenantId, apiToken.name, apiToken.state], ['demo', 'CI deploys', 'active']);
      assert.equal(apiToken.expiresAt, demo.expiresAt, 'without expiresInDays it expires with the token that made it (sooner than the default 90 days)');
      assert.equal((await call('GET', '/api/tenants/demo', token)).status, 200, 'the new token works');

      const shorter = (await call('POST', '/api/tenants/demo/tokens', demo.token, { expiresInDays: 7 })).json();
      assert.ok(Math.abs(shorter.apiToken.expiresAt - (Date.now() + 7 * DAY)) < 60_000);

      const before = (await call('GET', '/api/tenants/demo/tokens', demo.token)).json();
      const longer = await call('POST', '/api/tenants/demo/tokens', demo.token, { expiresInDays: 31 });
      assert.equal(longer.status, 400, longer.text);
      assert.equal(longer.json().code, 'token_outlives_creator');
      assert.match(longer.json().detail, /cannot make a token that outlives it.*at most 29 days/);
      const listed = await call('GET', '/api/tenants/demo/tokens', demo.token);
      assert.deepEqual(listed.json(), before, 'nothing was made');
      assert.ok(!listed.text.includes(token), 'a token is never listed');
      assert.ok(listed.json().every((t: { tenantId: string }) => t.tenantId === 'demo'), 'only the tenant\'s own tokens');

      const events = await auditEvents('admin.api_token_created');
      assert.equal(events.at(-1)!.actor, `api:${demo.id}`, 'the audit log says which token made it');
    });

    test('a tenant\'s token never makes an operator token, nor sees or revokes the operator\'s or another tenant\'s tokens', async () => {
      // Without lastUsedAt, which using a token notes.
      const tokens = async () => (await call('GET', '/api/tokens', operator.token)).json().map(({ lastUsedAt: _used, ...t }: { lastUsedAt: number }) => t);
      const before = await tokens();
      for (const [method, path] of [['POST', '/api/tokens'], ['GET', '/api/tokens'], ['DELETE', `/api/tokens/${operator.id}`], ['DELETE', `/api/tokens/${other.id}`]]) {
        const answer = await call(method!, path!, demo.token, method === 'POST' ? {} : undefined);
        assert.equal(answer.status, 403, `${method} ${path}: ${answer.text}`);
        assert.equal(answer.json().code, 'operator_token_required');
      }
      const sideways = await call('DELETE', `/api/tenants/demo/tokens/${other.id}`, demo.token);
      assert.equal(sideways.status, 404, 'another tenant\'s token is not one of this tenant\'s');
      assert.equal(sideways.json().code, 'unknown_token');
      assert.equal((await call('DELETE', `/api/tenants/demo/tokens/${operator.id}`, demo.token)).status, 404, 'nor is the operator\'s');
      assert.equal((await call('GET', '/api/tenants/other', other.token)).status, 200, 'the other tenant\'s token still works');
      assert.deepEqual(await tokens(), before, 'no token was made or revoked');
    });

    test('revoking: the token stops working at once; twice is a clear 400', async () => {
      const { token, apiToken } = (await call('POST', '/api/tenants/demo/tokens', demo.token, { name: 'Short-lived' })).json();
      assert.equal((await call('DELETE', `/api/tenants/demo/tokens/${apiToken.id}`, demo.token)).status, 204);
      assert.equal((await call('GET', '/api/tenants/demo', token)).status, 401);
      const again = await call('DELETE', `/api/tenants/demo/tokens/${apiToken.id}`, demo.token);
      assert.equal(again.status, 400);
      assert.equal(again.json().code, 'already_revoked');
      const listed = (await call('GET', '/api/tenants/demo/tokens', demo.token)).json();
      assert.equal(listed.find((t: { id: string }) => t.id === apiToken.id).state, 'revoked');
    });

    test('an operator token makes operator tokens (not outliving it), lists by tenant or operator, and revokes any token', async () => {
      const created = await call('POST', '/api/tokens', operator.token, { name: 'Provisioning', expiresInDays: 60 });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json().apiToken.tenantId, null);
      assert.equal((await call('GET', '/api/tenants/other', created.json().token)).status, 200, 'it reaches every tenant');
      assert.equal((await call('POST', '/api/tokens', operator.token, { expiresInDays: 91 })).json().code, 'token_outlives_creator');
      assert.equal((await call('POST', '/api/tenants/other/tokens', operator.token, { expiresInDays: 366 })).json().code, 'token_outlives_creator');

      const onlyOperator = (await call('GET', '/api/tokens?operator=true', operator.token)).json();
      assert.ok(onlyOperator.length >= 2 && onlyOperator.every((t: { tenantId: string | null }) => t.tenantId === null));
      const onlyOther = (await call('GET', '/api/tokens?tenant=other', operator.token)).json();
      assert.deepEqual(onlyOther.map((t: { id: string }) => t.id), [other.id]);
      assert.equal((await call('GET', '/api/tokens?tenant=other&operator=true', operator.token)).status, 400);

      const victim = (await call('POST', '/api/tenants/demo/tokens', demo.token, {})).json();
      assert.equal((await call('DELETE', `/api/tokens/${victim.apiToken.id}`, operator.token)).status, 204);
      assert.equal((await call('GET', '/api/tenants/demo', victim.token)).status, 401);
    });

    test('webhook: set with its secret shown once, read, refused unless https, removed', async () => {
      assert.deepEqual((await call('GET', '/api/tenants/demo/webhook', demo.token)).json(), { url: null });
      const set = await call('PUT', '/api/tenants/demo/webhook', demo.token, { url: 'https://push.example.com/sesame' });
      assert.equal(set.status, 200, set.text);
      assert.equal(set.json().url, 'https://push.example.com/sesame');
      assert.ok(set.json().secret.length >= 43);
      const read = await call('GET', '/api/tenants/demo/webhook', demo.token);
      assert.deepEqual(read.json(), { url: 'https://push.example.com/sesame' });
      assert.equal((await server.services.tenants.requireTenant('demo')).webhookSecret, set.json().secret, 'the secret pushes are signed with');
      const plain = await call('PUT', '/api/tenants/demo/webhook', demo.token, { url: 'http://push.example.com/sesame' });
      assert.equal(plain.status, 400);
      assert.match(plain.json().detail, /https/);
      assert.equal((await call('GET', '/api/tenants/demo/webhook', demo.token)).json().url, 'https://push.example.com/sesame', 'unchanged');
      assert.equal((await call('DELETE', '/api/tenants/demo/webhook', demo.token)).status, 204);
      assert.deepEqual((await call('GET', '/api/tenants/demo/webhook', demo.token)).json(), { url: null });
      assert.deepEqual((await auditEvents('admin.tenant_changed')).slice(-2).map((e) => [e.actor, e.detail.webhook]), [[`api:${demo.id}`, 'https://push.example.com/sesame'], [`api:${demo.id}`, null]]);
    });

    test('related origins: replaced, served at /.well-known/webauthn; a URL with a path is refused and changes nothing', async () => {
      const set = await call('PUT', '/api/tenants/demo/related-origins', demo.token, { origins: ['https://shop.example.com', 'https://shop.example.com/'] });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.json(), { relatedOrigins: ['https://shop.example.com'] });
      const wellKnown = await (await fetch(`${server.origin}/.well-known/webauthn`)).json() as { origins: string[] };
      assert.ok(wellKnown.origins.includes('https://shop.example.com'));
      const bad = await call('PUT', '/api/tenants/demo/related-origins', demo.token, { origins: ['https://app.example.com', 'https://shop.example.com/login'] });
      assert.equal(bad.status, 400);
      assert.match(bad.json().detail, /not an https origin/);
      assert.deepEqual((await call('GET', '/api/tenants/demo', demo.token)).json().relatedOrigins, ['https://shop.example.com']);
      assert.deepEqual((await call('PUT', '/api/tenants/demo/related-origins', demo.token, { origins: [] })).json(), { relatedOrigins: [] });
    });

    test('logo: a PNG is served by Sesame; SVG, other bytes and more than 64 KB are refused as the CLI refuses them', async () => {
      const set = await call('PUT', '/api/tenants/demo/logo', demo.token, { image: `data:image/png;base64,${PNG.toString('base64')}` });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.json(), { type: 'image/png', bytes: PNG.length, url: `${server.origin}/demo/branding/logo` });
      const served = await fetch(`${server.origin}/demo/branding/logo`);
      assert.equal(served.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), PNG);

      const refusals: Array<[string, RegExp]> = [
        [`data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').toString('base64')}`, /SVG logos are not accepted/],
        [`data:image/png;base64,${Buffer.from('<html>not an image</html>').toString('base64')}`, /must be a PNG, JPEG or WebP/],
        [`data:image/png;base64,${Buffer.concat([PNG, Buffer.alloc(70 * 1024)]).toString('base64')}`, /may be at most 64 KB/],
        ['https://example.com/logo.png', /data:image\/png;base64/],
      ];
      for (const [image, message] of refusals) {
        const refused = await call('PUT', '/api/tenants/demo/logo', demo.token, { image });
        assert.equal(refused.status, 400, refused.text);
        assert.match(refused.json().detail, message);
      }
      assert.deepEqual(Buffer.from(await (await fetch(`${server.origin}/demo/branding/logo`)).arrayBuffer()), PNG, 'the logo is unchanged');
      assert.equal((await call('DELETE', '/api/tenants/demo/logo', demo.token)).status, 204);
      assert.equal((await fetch(`${server.origin}/demo/branding/logo`)).status, 404);
    });

    test('U2F: the AppID and its trusted facets are set together or not at all, and served where the AppID points', async () => {
      const appId = `${server.origin.replace('http:', 'https:')}/demo/u2f/trusted-facets`;
      assert.deepEqual((await call('GET', '/api/tenants/demo/u2f', demo.token)).json(), { appId: null, facets: [], trustedFacetsUrl: `${server.origin}/demo/u2f/trusted-facets` });
      const set = await call('PUT', '/api/tenants/demo/u2f', demo.token, { appId });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.json().facets, [server.origin], 'a new AppID trusts Sesame\'s own origin');

      const bad = await call('PUT', '/api/tenants/demo/u2f', demo.token, { appId: 'https://elsewhere.example.com/facets', facets: ['https://app.example.com', 'http://insecure.example.com'] });
      assert.equal(bad.status, 400);
      assert.match(bad.json().detail, /"http:\/\/insecure.example.com" is not a facet id/);
      assert.equal((await call('GET', '/api/tenants/demo/u2f', demo.token)).json().appId, appId, 'the AppID did not change either');

      const facets = ['https://app.example.com', 'android:apk-key-hash:AbCd1234', 'ios:bundle-id:com.example.app'];
      assert.deepEqual((await call('PUT', '/api/tenants/demo/u2f', demo.token, { appId, facets })).json().facets, facets);
      const served = await (await fetch(`${server.origin}/demo/u2f/trusted-facets`)).json() as { trustedFacets: Array<{ ids: string[] }> };
      assert.deepEqual(served.trustedFacets[0]!.ids, facets);
      assert.equal((await call('DELETE', '/api/tenants/demo/u2f', demo.token)).status, 204);
      assert.equal((await fetch(`${server.origin}/demo/u2f/trusted-facets`)).status, 404);
    });

    test('attestation roots: a CA certificate is trusted, listed and removed; an attestation certificate is refused with the reason', async () => {
      const { root, leaf } = attestationChain('Acme');
      const notCa = await call('POST', '/api/tenants/demo/attestation-roots', demo.token, { pem: `${root.pem}\n${leaf.pem}` });
      assert.equal(notCa.status, 400);
      assert.match(notCa.json().detail, /is not a CA certificate/);
      assert.deepEqual((await call('GET', '/api/tenants/demo/attestation-roots', demo.token)).json(), [], 'one bad certificate refuses them all');

      const added = await call('POST', '/api/tenants/demo/attestation-roots', demo.token, { pem: root.pem });
      assert.equal(added.status, 201, added.text);
      assert.equal(added.json().added, 1);
      assert.equal(added.json().roots[0].fingerprint, root.x509.fingerprint256);
      assert.equal((await call('POST', '/api/tenants/demo/attestation-roots', demo.token, { pem: root.pem })).json().added, 0, 'already trusted');
      assert.deepEqual((await call('GET', '/api/tenants/demo/attestation-roots', demo.token)).json().map((r: { subject: string }) => r.subject), ['C=DE, O=Acme, CN=Acme Attestation Root']);
      assert.deepEqual(await server.services.attestationRoots.pemsFor('demo'), [root.pem], 'registration verifies chains against it');

      const bare = root.x509.fingerprint256.replace(/:/g, '').toLowerCase();
      assert.equal((await call('DELETE', `/api/tenants/demo/attestation-roots/${bare}`, demo.token)).status, 204);
      const gone = await call('DELETE', `/api/tenants/demo/attestation-roots/${bare}`, demo.token);
      assert.equal(gone.status, 404);
      assert.equal(gone.json().code, 'unknown_attestation_root');
      assert.deepEqual(await server.services.attestationRoots.pemsFor('demo'), []);
    });
  });
}
