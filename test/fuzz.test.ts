import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, createClient, openSignInPage, signUpThroughRp } from './support/flow.js';
import { desktopStarts } from './support/crossdevice.js';
import type { Schema } from '../src/storage/schema.js';
import { enc, hostileSegment, hostileText, jsonValue, refusedByNodeParser } from './support/hostile-input.js';

/**
 * Hostile input, generated: every public endpoint (Sesame's routers and each OIDC endpoint of the
 * tenant) gets requests with broken paths, NUL characters, wrong methods, wrong or lying
 * Content-Type and Content-Encoding, invalid JSON, wrong types, huge headers and bodies. The server
 * must answer each with a 4xx JSON answer or page (or a 2xx/3xx where the input happens to be
 * valid), never a 5xx, never hang, never crash, and a rejected request must change nothing.
 * FUZZ_REQUESTS sets the number per database, FUZZ_SEED replays a run.
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 8;
const TIMEOUT_MS = 10_000;

/** Tables a valid request may write to: OIDC interactions and sessions, ceremony challenges, cross-device requests, the VAPID keys made on first use. */
const WRITABLE_BY_2XX = new Set<keyof Schema>(['oidc_payloads', 'webauthn_challenges', 'crossdevice_requests', 'crossdevice_events', 'settings', 'email_verifications', 'mail_outbox']);
const TABLES: Array<keyof Schema> = ['tenants', 'clients', 'signing_keys', 'users', 'credentials', 'webauthn_challenges', 'oidc_payloads',
  'settings', 'crossdevice_requests', 'crossdevice_events', 'passport_devices', 'passport_enrolment_tokens', 'email_verifications', 'user_devices'];

const ENDPOINTS: Array<[string, string]> = [
  ['GET', '/:tenant/account'], ['POST', '/:tenant/account/passport/link'], ['POST', '/:tenant/account/passport/remove'],
  ['POST', '/:tenant/account/signin/options'], ['POST', '/:tenant/account/signin/verify'], ['POST', '/:tenant/account/passkeys/options'],
  ['POST', '/:tenant/account/passkeys/verify'], ['POST', '/:tenant/account/passkeys/remove'], ['POST', '/:tenant/account/passkeys/rename'],
  ['POST', '/:tenant/account/signout'],
  ['POST', '/:tenant/interaction/:uid/crossdevice'], ['GET', '/:tenant/interaction/:uid/crossdevice/:id'],
  ['GET', '/:tenant/interaction/:uid/crossdevice/:id/events'], ['POST', '/:tenant/interaction/:uid/crossdevice/:id/cancel'],
  ['POST', '/:tenant/interaction/:uid/crossdevice/:id/complete'],
  ['GET', '/:tenant/x/:id'], ['GET', '/:tenant/x/:id/details'], ['POST', '/:tenant/x/:id/choose'], ['POST', '/:tenant/x/:id/approve'], ['POST', '/:tenant/x/:id/deny'],
  ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'],
  ['GET', '/:tenant/interaction/:uid'], ['POST', '/:tenant/interaction/:uid/signin/options'], ['POST', '/:tenant/interaction/:uid/signin/verify'],
  ['POST', '/:tenant/interaction/:uid/signup/options'], ['POST', '/:tenant/interaction/:uid/signup/verify'], ['POST', '/:tenant/interaction/:uid/abort'],
  ['POST', '/:tenant/interaction/:uid/signup/email'], ['POST', '/:tenant/interaction/:uid/signup/code'], ['GET', '/:tenant/interaction/:uid/signup/email/:id'],
  ['POST', '/:tenant/account/email/send'], ['POST', '/:tenant/account/email/code'], ['GET', '/:tenant/verify-email'], ['POST', '/:tenant/verify-email'],
  ['GET', '/:tenant/passport/'], ['GET', '/:tenant/passport/manifest.webmanifest'], ['GET', '/:tenant/passport/sw.js'], ['GET', '/:tenant/passport/api/vapid'],
  ['POST', '/:tenant/passport/api/enrol/token/options'], ['POST', '/:tenant/passport/api/enrol/token'], ['POST', '/:tenant/passport/api/enrol/passkey/options'],
  ['POST', '/:tenant/passport/api/enrol/passkey'], ['GET', '/:tenant/passport/api/device'], ['POST', '/:tenant/passport/api/device/push'],
  ['POST', '/:tenant/passport/api/device/remove'], ['GET', '/:tenant/passport/api/requests'],
  ['GET', '/static/sesame.css'], ['GET', '/demo-rp/'], ['GET', '/demo-rp/login'], ['POST', '/demo-rp/callback'],
  ['GET', '/:tenant/oidc/.well-known/openid-configuration'], ['GET', '/:tenant/oidc/jwks'], ['GET', '/:tenant/oidc/auth'], ['POST', '/:tenant/oidc/auth'],
  ['POST', '/:tenant/oidc/token'], ['GET', '/:tenant/oidc/me'], ['POST', '/:tenant/oidc/me'], ['GET', '/:tenant/oidc/session/end'],
  ['POST', '/:tenant/oidc/session/end/confirm'], ['POST', '/:tenant/oidc/token/revocation'], ['POST', '/:tenant/oidc/token/introspection'],
  ['GET', '/:tenant/oidc/auth/:id'], ['GET', '/:tenant/oidc/session/end/success'],
  ['GET', '/:tenant/invitation'], ['POST', '/:tenant/invitation'], ['POST', '/:tenant/interaction/:uid/deny'],
];

/** What a run knows that is real, so generated requests also reach past the first lookup. */
interface Seeds { tenant: string; uid: string; requestId: string; clientId: string; cookie: string; origin: string }

const FIELDS = ['email', 'displayName', 'challengeId', 'response', 'token', 'name', 'number', 'subscription', 'pushSubscription', 'push', 'credentialId', 'id', 'link', '__proto__', 'constructor'];
const jsonBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), jsonValue, { maxKeys: 6 }),
  fc.record({
    challengeId: hostileText,
    response: fc.record({ id: hostileText, rawId: hostileText, type: fc.constantFrom('public-key', 'x'), response: fc.dictionary(fc.constantFrom('clientDataJSON', 'attestationObject', 'authenticatorData', 'signature', 'userHandle', 'transports'), jsonValue) }, { requiredKeys: [] }),
  }, { requiredKeys: [] }),
  jsonValue,
).map((v) => JSON.stringify(v) ?? 'null');
const OIDC_PARAMS = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code', 'grant_type', 'token', 'id_token_hint', 'prompt',
  'response_mode', 'code_challenge', 'code_challenge_method', 'client_secret', 'max_age', 'acr_values', 'claims', 'request', 'login_hint', 'post_logout_redirect_uri', 'xsrf', 'logout'];
/** A query or form value, percent-encoded already (hostile segments are deliberately broken encodings). */
const encodedValue = (...valid: string[]) => fc.oneof(fc.constantFrom('openid', 'code', ...valid), hostileText.map(enc), hostileSegment);
const formBody = fc.array(fc.tuple(fc.constantFrom(...OIDC_PARAMS), encodedValue()), { maxLength: 8 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const body = fc.oneof(
  { weight: 4, arbitrary: jsonBody },
  { weight: 2, arbitrary: formBody },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"email":', '[1,2', '\u0000', 'nul\u0000l', '\uFEFF{}', 'garbage', '') },
  { weight: 1, arbitrary: fc.constant('x'.repeat(150 * 1024)) },
);

interface FuzzRequest { method: string; path: string; headers: Record<string, string>; body?: string | Buffer }

function requests(seeds: Seeds): fc.Arbitrary<FuzzRequest> {
  const param = (valid: string) => fc.oneof({ weight: 3, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: hostileSegment });
  return fc.record({
    endpoint: fc.constantFrom(...ENDPOINTS),
    tenant: param(seeds.tenant), uid: param(seeds.uid), id: param(seeds.requestId),
    method: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'TRACE') }),
    query: fc.option(fc.array(fc.tuple(fc.constantFrom(...OIDC_PARAMS, 'client_id'), encodedValue(seeds.clientId)), { maxLength: 6 })),
    contentType: fc.constantFrom('application/json', 'application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x',
      'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=bogus', ''),
    contentEncoding: fc.constantFrom('', '', '', 'gzip', 'deflate', 'br', 'identity', 'x-bogus', 'gzip, br'),
    accept: fc.constantFrom('application/json', 'text/html', '*/*', ''),
    sameOrigin: fc.boolean(),
    cookie: fc.oneof(fc.constant(seeds.cookie), fc.constant(''), hostileText.map((t) => `_interaction=${enc(t)}; sesame.account=${enc(t)}`)),
    authorization: fc.option(fc.oneof(hostileText.map((t) => `Bearer ${enc(t)}`), fc.constantFrom('Basic %%%', 'Basic ' + Buffer.from('a:b').toString('base64'), 'Bearer'))),
    hugeHeader: fc.oneof({ weight: 19, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 40_000 }) }),
    body: fc.option(body, { freq: 4 }),
  }).map((r) => {
    const [endpointMethod, template] = r.endpoint;
    let path = template.replace(':tenant', r.tenant).replace(':uid', r.uid).replace(':id', r.id);
    if (r.query?.length) path += `?${r.query.map(([k, v]) => `${k}=${v}`).join('&')}`;
    const headers: Record<string, string> = {};
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.contentEncoding) headers['content-encoding'] = r.contentEncoding;
    if (r.accept) headers.accept = r.accept;
    if (r.sameOrigin) headers.origin = seeds.origin;
    if (r.cookie) headers.cookie = r.cookie.replace(/[^\t\x20-\x7e]/g, '');
    if (r.authorization) headers.authorization = r.authorization.replace(/[^\t\x20-\x7e]/g, '');
    if (r.hugeHeader) headers['x-padding'] = 'p'.repeat(r.hugeHeader);
    const method = r.method || endpointMethod;
    return { method, path, headers, ...(r.body !== null && method !== 'GET' && method !== 'HEAD' ? { body: r.body } : {}) };
  });
}

interface Outcome { method: string; status: number; contentType: string; text: string }

/**
 * Sends one request. A connection reset is not the server's fault when the server refused the
 * request by closing (refusedByClosing: it counts as that refusal); any other reset is sent again
 * once on a new connection — a kept-alive connection the server has just closed resets the next
 * request sent on it (Node's documentation: `request.reusedSocket`). A request that is reset again
 * is reported, so a server that really drops requests still fails the test.
 */
async function send(agent: http.Agent, port: number, request: FuzzRequest): Promise<Outcome> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await sendOnce(attempt === 1 ? agent : false, port, request);
    } catch (error) {
      const reset = (error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error as NodeJS.ErrnoException).code === 'EPIPE';
      // A request refused by closing the connection (refusedByClosing): the reset is that refusal.
      if (reset && refusedByClosing(request)) return { method: request.method, status: 400, contentType: '', text: '' };
      if (!reset || attempt === 2) throw error;
    }
  }
}

/**
 * Requests the server refuses by answering and closing the connection with bytes still unread: a body
 * on TRACE or headers over 16 KB (Node's parser), a body over 100 KB (Sesame's limit). The close then
 * resets the connection, and on Node 24 the client usually sees the reset rather than the 4xx.
 */
function refusedByClosing(request: FuzzRequest): boolean {
  const headerBytes = Object.entries(request.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
  const bodyBytes = request.body === undefined ? 0 : Buffer.byteLength(request.body);
  return (request.method === 'TRACE' && request.body !== undefined) || headerBytes > 16 * 1024 || bodyBytes > 100 * 1024;
}

function sendOnce(agent: http.Agent | false, port: number, request: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent, method: request.method, path: request.path, headers: request.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ method: request.method, status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('close', () => reject(new Error(`the connection closed in the middle of a ${res.statusCode} answer`)));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.on('close', () => reject(new Error('the connection closed without an answer')));
    req.end(request.body);
  });
}

/**
 * A 4xx must say what went wrong: a JSON {"error"} answer, or a page (a HEAD answer has the type
 * but no body), or Node's own bare refusal (refusedByNodeParser).
 */
function explainsItself(outcome: Outcome): boolean {
  if (refusedByNodeParser(outcome.status, outcome.contentType, outcome.text)) return true;
  if (outcome.method === 'HEAD') return /^(application\/json|text\/html)/.test(outcome.contentType);
  if (outcome.contentType.startsWith('text/html')) return /<html/i.test(outcome.text);
  if (outcome.contentType.startsWith('application/json')) {
    try {
      return typeof JSON.parse(outcome.text).error === 'string';
    } catch {
      return false;
    }
  }
  return false;
}

async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const row = await server.services.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

async function seedsFor(server: TestServer): Promise<Seeds> {
  const client = await createClient(server);
  await signUpThroughRp(server, client, 'fuzz@example.com', 'Fuzz');
  const { request } = await desktopStarts(server, client);
  const ua = new UserAgent(server.origin);
  const { base } = await openSignInPage(ua, authorizeUrl(server, client));
  const [, tenant, , uid] = new URL(base).pathname.split('/');
  return { tenant, uid, requestId: request.id, clientId: client.clientId, cookie: await ua.jar.getCookieString(base), origin: server.origin };
}

for (const db of await databases()) {
  describe(`hostile input (${db})`, () => {
    test(`${REQUESTS} generated requests: no 5xx, no hang, a clear 4xx, nothing written by a rejected request (seed ${SEED})`, async () => {
      const server = await startTestServer(db);
      const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      try {
        const seeds = await seedsFor(server);
        const sample = fc.sample(requests(seeds), { numRuns: REQUESTS, seed: SEED });
        const before = await rowCounts(server);
        const started = Date.now();
        const failures: string[] = [];
        const statuses = new Map<number, number>();
        let next = 0;
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
          while (next < sample.length) {
            const request = sample[next++];
            const describeRequest = () => `${request.method} ${request.path.slice(0, 200)} ${JSON.stringify({ ...request.headers, 'x-padding': request.headers['x-padding'] && `${request.headers['x-padding'].length} bytes` })} ${String(request.body ?? '').slice(0, 200)}`;
            try {
              const outcome = await send(agent, server.port, request);
              statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
              // /readyz says 503 when a check does not answer in time (this machine is loaded): that is its job, not a failure.
              const readinessAnswer = request.path.startsWith('/readyz') && outcome.status === 503 && /"status":"unavailable"/.test(outcome.text);
              if (outcome.status >= 500 && !readinessAnswer) failures.push(`${outcome.status} for ${describeRequest()}: ${outcome.text.slice(0, 200)}`);
              else if (outcome.status >= 400 && !explainsItself(outcome)) failures.push(`unclear ${outcome.status} (${outcome.contentType}) for ${describeRequest()}: ${outcome.text.slice(0, 100)}`);
            } catch (error) {
              failures.push(`${(error as Error).message} for ${describeRequest()}`);
            }
          }
        }));
        const seconds = (Date.now() - started) / 1000;
        console.log(`# fuzz ${db}: ${sample.length} requests in ${seconds.toFixed(1)} s, seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
        assert.deepEqual(failures.slice(0, 8).map((f) => f.slice(0, 700)), [], `${failures.length} bad answers (replay with FUZZ_SEED=${SEED})`);

        const after = await rowCounts(server);
        const successes = [...statuses].filter(([status]) => status < 400).reduce((n, [, count]) => n + count, 0);
        for (const table of TABLES) {
          if (WRITABLE_BY_2XX.has(table)) assert.ok(after[table] - before[table] <= 2 * successes, `${table} grew by ${after[table] - before[table]} for ${successes} accepted requests`);
          else assert.equal(after[table], before[table], `${table} changed`);
        }
        assert.equal((await fetch(`${server.origin}/healthz`)).status, 200, 'the server still answers');
      } finally {
        agent.destroy();
        await server.close();
      }
    });
  });
}
