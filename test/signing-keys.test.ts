import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import { startTestServer, type TestServer } from './support/server.js';
import { createClient, issuer, signUpThroughRp } from './support/flow.js';
import { PUBLISH_AHEAD_MS, RETAIN_MS } from '../src/oidc/signing-keys.js';

describe('signing key rotation', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer('sqlite'); });
  after(() => server.close());

  test('a rotated key is published at once, signs only after 48 h, and the old key retires 48 h later', async () => {
    const client = await createClient(server);
    const before = await (await fetch(`${issuer(server)}/jwks`)).json();
    assert.equal(before.keys.length, 1);
    const oldKid = before.keys[0].kid;

    const { next } = await server.services.signingKeys.rotate('demo');
    server.services.registry.invalidate('demo');
    const after = await (await fetch(`${issuer(server)}/jwks`)).json();
    assert.deepEqual(after.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, next.kid].sort());
    assert.ok(after.keys.every((k: { kty: string }) => k.kty === 'RSA'));

    const { tokens } = await signUpThroughRp(server, client, 'rotate@example.com', 'Rotate');
    assert.equal(decodeProtectedHeader(tokens.id_token).kid, oldKid, 'the old key still signs');

    const now = Date.now();
    const switched = await server.services.signingKeys.keySet('demo', now + PUBLISH_AHEAD_MS + 1000);
    assert.equal(switched.keys[0].kid, next.kid, 'the new key signs after 48 h');
    assert.ok(switched.keys.some((k) => k.kid === oldKid), 'the old key stays published');
    const retired = await server.services.signingKeys.keySet('demo', now + PUBLISH_AHEAD_MS + RETAIN_MS + 1000);
    assert.deepEqual(retired.keys.map((k) => k.kid), [next.kid]);
  });
});
