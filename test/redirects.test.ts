import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTestServer, type TestServer } from './support/server.js';
import { sesameRouters } from '../src/http/app.js';

/**
 * No open redirect: every route of Sesame's own, and oidc-provider's, is requested with a path
 * segment replaced by something a browser would read as another host. No answer may send the
 * browser off Sesame's origin.
 */
const PAYLOADS = ['/evil.example', '%2Fevil.example', '%2F%2Fevil.example', '%5Cevil.example', '%5C%5Cevil.example', '\\evil.example'];
const OIDC_PATHS = ['/demo/oidc/auth', '/demo/oidc/.well-known/openid-configuration', '/demo/oidc/jwks', '/demo/oidc/token', '/demo/oidc/session/end', '/demo/oidc/me', '/demo/oidc/token/revocation'];

/** A raw request: fetch() would normalise the very paths under test. */
function rawRequest(port: number, method: string, path: string, origin: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { host: `localhost:${port}`, origin, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

describe('redirects', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer('sqlite'); });
  after(() => server.close());

  const routes = () => {
    const list: Array<{ method: string; path: string }> = [];
    for (const router of sesameRouters(server.services, { internalUrl: () => server.origin })) {
      for (const layer of router.stack) {
        const concrete = String(layer.path).replace(/:tenant/g, 'demo').replace(/:[a-z]+/gi, 'abcdefghijklmnopqrstuv');
        for (const method of layer.methods.filter((m) => m !== 'HEAD')) list.push({ method, path: concrete });
      }
    }
    for (const path of OIDC_PATHS) list.push({ method: 'GET', path }, { method: 'POST', path });
    return list;
  };

  test('the trailing-slash redirect goes to the canonical path', async () => {
    const response = await rawRequest(server.port, 'GET', '/demo/passport', server.origin);
    assert.equal(response.status, 302);
    assert.equal(response.location, '/demo/passport/');
  });

  test('no path on any route redirects off-origin', async () => {
    const list = routes();
    assert.ok(list.some((r) => r.path === '/demo/passport'), 'the route list includes Passport');
    assert.ok(list.length > 30, `enumerated ${list.length} routes`);
    let requests = 0;
    for (const { method, path } of list) {
      const segments = path.split('/');
      for (let i = 1; i < segments.length; i += 1) {
        for (const payload of PAYLOADS) {
          const variants = [[...segments.slice(0, i), payload, ...segments.slice(i + 1)], [...segments.slice(0, i), payload, ...segments.slice(i)]];
          for (const variant of variants) {
            for (const candidate of [variant.join('/'), variant.join('/').replace(/\/$/, '')]) {
              const response = await rawRequest(server.port, method, candidate, server.origin);
              requests += 1;
              if (response.location) {
                assert.equal(new URL(response.location, server.origin).origin, server.origin, `${method} ${candidate} → Location: ${response.location}`);
              }
            }
          }
        }
      }
    }
    assert.ok(requests > 500, `sent ${requests} requests`);
  });
});
