import assert from 'node:assert/strict';

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
