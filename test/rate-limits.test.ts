import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { databases, freePort, POSTGRES_URL, startTestServer, type TestServer } from './support/server.js';
import { authorizeUrl, createClient, issuer, pageConfig, proveEmail } from './support/flow.js';
import { UserAgent } from './support/user-agent.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { networkOf } from '../src/http/middleware/rate-limit.js';

/**
 * Sign-in rate limits: counted in the database (shared by every node), per network (an IPv6 /64
 * counts as one) and per account as seen from a network, so that nobody can lock a person out by
 * trying their address. The client address comes from X-Forwarded-For behind one trusted proxy.
 */
const behindProxy = (limits: { ip: number; account: number }) => ({
  env: { TRUST_PROXY: '1', RATE_LIMIT_PER_IP: String(limits.ip), RATE_LIMIT_PER_ACCOUNT: String(limits.account) },
});

/**
 * A browser at `ip` (as the proxy reports it) on the sign-in page of a fresh authorization request.
 * The page counts as one attempt of the network: it carries the options of its autofill ceremony.
 */
async function visitorFrom(server: TestServer, ip: string, origin = server.origin) {
  const ua = new UserAgent(origin);
  const client = await createClient(server);
  const headers = { 'x-forwarded-for': ip };
  let signInPage = await ua.request(authorizeUrl({ ...server, origin } as TestServer, client), { headers });
  for (let hop = 0; hop < 5 && signInPage.headers.get('location'); hop += 1) {
    signInPage = await ua.request(new URL(signInPage.headers.get('location')!, signInPage.url).href, { headers });
  }
  assert.equal(signInPage.status, 200, signInPage.text.slice(0, 300));
  const base = `${origin}${/\/demo\/interaction\/[^/?#]+/.exec(signInPage.url)![0]}`;
  const signInOptions = async (email?: string) => (await ua.postJson(`${base}/signin/options`, email ? { email } : {}, { headers })).status;
  const signUp = async (email: string) => {
    const start = await ua.postJson(`${base}/signup/options`, { email, displayName: 'Grace', verificationId: await proveEmail(ua, base, email, 'Grace') }, { headers });
    const { challengeId, options } = start.json();
    const response = new SoftwareAuthenticator().createCredential(options, origin);
    assert.equal((await ua.postJson(`${base}/signup/verify`, { challengeId, response }, { headers })).status, 200);
  };
  return { signInOptions, signUp, autofill: pageConfig(signInPage.text).autofill as unknown };
}

for (const kind of await databases()) {
  describe(`rate limits (${kind})`, () => {
    test('trying a person\'s e-mail address from one network does not lock them out elsewhere', async () => {
      const server = await startTestServer(kind, behindProxy({ ip: 100, account: 3 }));
      try {
        await (await visitorFrom(server, '198.51.100.20')).signUp('grace@example.com');
        const attacker = await visitorFrom(server, '203.0.113.7');
        const attempts = [];
        for (let i = 0; i < 5; i += 1) attempts.push(await attacker.signInOptions('grace@example.com'));
        assert.deepEqual(attempts, [200, 200, 200, 429, 429], 'the attacker is slowed down');
        const owner = await visitorFrom(server, '198.51.100.20');
        assert.equal(await owner.signInOptions('grace@example.com'), 200, 'the owner still signs in');
      } finally {
        await server.close();
      }
    });

    test('the sign-in page costs what the options request it saves cost: beyond the limit it opens without them', async () => {
      const server = await startTestServer(kind, behindProxy({ ip: 2, account: 100 }));
      try {
        const first = await visitorFrom(server, '198.51.100.30');
        assert.ok(first.autofill, 'the first page carries the options of its autofill ceremony');
        assert.equal(await first.signInOptions(), 200, 'the second attempt of the network');
        const second = await visitorFrom(server, '198.51.100.30');
        assert.equal(second.autofill, undefined, 'the third: the page opens, without the options');
        assert.equal(await second.signInOptions(), 429, 'and asking for them is refused');
      } finally {
        await server.close();
      }
    });

    test('an IPv6 client counts as its /64: rotating addresses inside it does not escape the limit', async () => {
      // Each visitor's page and its options request count: 2 attempts each.
      const server = await startTestServer(kind, behindProxy({ ip: 8, account: 100 }));
      try {
        const statuses = [];
        for (let i = 1; i <= 6; i += 1) statuses.push(await (await visitorFrom(server, `2001:db8:1:2::${i.toString(16)}`)).signInOptions());
        assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
        assert.equal(await (await visitorFrom(server, '2001:db8:1:3::1')).signInOptions(), 200, 'the next /64 is someone else');
      } finally {
        await server.close();
      }
    });

    test('starting sign-ins is limited per network: 16 concurrent authorization requests, then a friendly 429 page', async () => {
      const server = await startTestServer(kind, { env: { TRUST_PROXY: '1', RATE_LIMIT_AUTH_PER_IP: '5' } });
      try {
        const client = await createClient(server);
        const interactions = async () => Number((await server.services.database.db.selectFrom('oidc_payloads')
          .select((eb) => eb.fn.countAll<number>().as('n')).where('model', '=', 'Interaction').executeTakeFirstOrThrow()).n);
        const authorize = (ip: string, accept = 'text/html') => new UserAgent(server.origin)
          .request(authorizeUrl(server, client), { headers: { 'x-forwarded-for': ip, accept } });
        const results = await Promise.all(Array.from({ length: 16 }, (_, i) => authorize(`2001:db8:5:6::${i + 1}`)));
        const statuses = results.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 303).length, 5, String(statuses));
        assert.equal(statuses.filter((s) => s === 429).length, 11, String(statuses));
        assert.equal(await interactions(), 5, 'a refused request stores no interaction');
        const refused = results.find((r) => r.status === 429)!;
        assert.equal(refused.headers.get('retry-after'), '60');
        assert.match(refused.headers.get('content-type')!, /text\/html/);
        assert.match(refused.text, /Too many sign-in requests came from your network in the last minute\. Please wait a minute and try again\./);
        assert.equal((await authorize('2001:db8:5:6::99', 'application/json')).json().error, 'rate_limited');
        assert.equal((await authorize('2001:db8:5:7::1')).status, 303, 'another network starts its sign-in');
        // Only the authorization endpoint is counted: discovery, JWKS and the rest stay open.
        const discovery = await fetch(`${issuer(server)}/.well-known/openid-configuration`, { headers: { 'x-forwarded-for': '2001:db8:5:6::1' } });
        assert.equal(discovery.status, 200);
      } finally {
        await server.close();
      }
    });

    test('16 concurrent attempts never get past the limit', async () => {
      // The sign-in page is the first attempt: 5 are left.
      const server = await startTestServer(kind, behindProxy({ ip: 6, account: 100 }));
      try {
        const visitor = await visitorFrom(server, '192.0.2.44');
        const statuses = await Promise.all(Array.from({ length: 16 }, () => visitor.signInOptions()));
        assert.equal(statuses.filter((s) => s === 200).length, 5, String(statuses));
        assert.equal(statuses.filter((s) => s === 429).length, 11, String(statuses));
      } finally {
        await server.close();
      }
    });
  });
}

describe('rate limits across nodes', { skip: !(await databases()).includes('postgres') && 'PostgreSQL not reachable' }, () => {
  test('two nodes on one PostgreSQL database share the counts', async () => {
    // Nodes of one deployment share the database and its secret key.
    const secretKey = randomBytes(32).toString('base64url');
    // 6: the two sign-in pages count one each, then four options requests.
    const first = await startTestServer('postgres', { env: { ...behindProxy({ ip: 6, account: 100 }).env, SESAME_SECRET_KEY: secretKey } });
    const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(first.services.database.db)).rows[0].schema;
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-test-'));
    const config = loadConfig({
      PORT: String(port), PUBLIC_URL: `http://localhost:${port}`, DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: POSTGRES_URL,
      ...behindProxy({ ip: 6, account: 100 }).env, SESAME_SECRET_KEY: secretKey,
    });
    let second: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      second = await startServer(config, { logger: createLogger('silent'), pgSchema: schema });
      const onFirst = await visitorFrom(first, '192.0.2.99');
      const onSecond = await visitorFrom(first, '192.0.2.99', `http://localhost:${port}`);
      const statuses = [await onFirst.signInOptions(), await onFirst.signInOptions(), await onFirst.signInOptions()];
      statuses.push(await onSecond.signInOptions(), await onSecond.signInOptions());
      assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    } finally {
      await second?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      await first.close();
    }
  });
});

describe('the network of a client address', () => {
  test('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
    assert.equal(networkOf('192.0.2.1'), '192.0.2.1');
    assert.equal(networkOf('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(networkOf('2001:db8::1'), networkOf('2001:db8:0:0:ffff:ffff:ffff:ffff'));
    assert.notEqual(networkOf('2001:db8::1'), networkOf('2001:db8:0:1::1'));
    assert.equal(networkOf('2001:db8::1'), '2001:db8:0:0::/64');
  });
});
