import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * A body on a method that carries none (DELETE, OPTIONS, GET…) still gets its answer: the server
 * reads and drops the body first. Left unread, Node 24 closes the connection with the bytes queued
 * and the kernel resets it, so the client saw "connection reset" instead of the 4xx.
 */
describe('bodies on methods that carry none', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer('sqlite'); });
  after(() => server.close());

  const send = (method: string, path: string, body: string) => new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });

  for (const [method, path] of [['DELETE', '/demo/oidc/me'], ['OPTIONS', '/demo/passport/api/device'], ['DELETE', '/demo/account/signin/verify'], ['GET', '/healthz']]) {
    test(`${method} ${path} with a body is answered, not reset`, async () => {
      for (let i = 0; i < 5; i += 1) {
        const answer = await send(method, path, 'x'.repeat(4096));
        assert.ok(answer.status >= 200 && answer.status < 500, `${answer.status} ${answer.text.slice(0, 200)}`);
      }
    });
  }

  test('a body over 100 KB on such a method is refused with 413', async () => {
    const answer = await send('DELETE', '/demo/oidc/me', 'x'.repeat(150 * 1024)).catch((error: NodeJS.ErrnoException) => ({ status: 0, text: error.code ?? '' }));
    // The refusal closes the connection; the client may see the 413 or, racing the close, a reset.
    assert.ok(answer.status === 413 || answer.text === 'ECONNRESET' || answer.text === 'EPIPE', `${answer.status} ${answer.text}`);
  });
});
