import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { seedTwoTenants } from './support/admin-api.js';
import { enc, hostileSegment, hostileText, jsonValue, refusedByNodeParser } from './support/hostile-input.js';

/**
 * Hostile input for the admin API, generated from its own OpenAPI document: every endpoint gets
 * requests with valid tokens (a tenant's and the operator's), path ids that are real, another
 * tenant's or broken, query parameters and bodies shaped by the endpoint's schema but filled with
 * wrong types, edge values and hostile text, and bodies that are not JSON at all. The server must
 * never answer 5xx and every refusal must be a problem document; whatever a tenant's token sends,
 * the other tenant stays as it was. API_FUZZ_REQUESTS sets the number per database, API_FUZZ_SEED
 * replays a run.
 */
const REQUESTS = Number(process.env.API_FUZZ_REQUESTS ?? 1500);
const SEED = Number(process.env.API_FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 6;

type JsonSchema = {
  type?: string | string[]; enum?: unknown[]; properties?: Record<string, JsonSchema>; items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; allOf?: JsonSchema[];
};
interface Operation { method: string; path: string; query: Array<{ name: string; schema: JsonSchema }>; body?: JsonSchema }
type Tenant = 'demo' | 'other';

/** Strings that mean something somewhere in the API, so that generated requests get past validation into the services. */
const MEANINGFUL = ['https://rp.example.com/callback', 'https://rp.example.com/cb#', 'https://localhost/x', 'http://127.0.0.1/cb', 'ftp://example.com/x',
  'not a url', '#2563eb', 'red', 'someone@example.com', '2025-01-31', '2025-01-31T12:00:00Z', 'contoso', 'private_key_jwt', 'client_secret_basic',
  'department', 'constructor', 'sub', 'string_array', 'any', 'attested', 'invitation', 'open', 'cb69481e-8ff7-4039-93ec-0a2729a154a8'];

/** Values for a JSON Schema: mostly of the right shape (with edge values), sometimes anything at all. */
function valueFor(schema: JsonSchema | undefined, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return jsonValue;
  const alternatives = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valueFor(s, ids, depth + 1)));
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const shaped = types.map((type): fc.Arbitrary<unknown> => {
    if (schema.enum) return fc.constantFrom(...schema.enum);
    switch (type) {
      case 'string': return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...MEANINGFUL, ...ids) }, { weight: 2, arbitrary: hostileText });
      case 'integer': case 'number': return fc.oneof(fc.constantFrom(0, 1, -1, 7, 366, 367, 10_000, 10_001, 2 ** 53, -(2 ** 53), 1e308), fc.integer(), fc.double());
      case 'boolean': return fc.boolean();
      case 'null': return fc.constant(null);
      case 'array': return fc.array(valueFor(schema.items, ids, depth + 1), { maxLength: 5 });
      case 'object': {
        const properties = Object.entries(schema.properties ?? {});
        const known = properties.length
          ? fc.record(Object.fromEntries(properties.map(([name, s]) => [name, valueFor(s, ids, depth + 1)])), { requiredKeys: [] })
          : fc.constant({});
        const extra = typeof schema.additionalProperties === 'object'
          ? fc.dictionary(fc.oneof(fc.constantFrom(...MEANINGFUL), hostileText), valueFor(schema.additionalProperties, ids, depth + 1), { maxKeys: 4 })
          : fc.constant({});
        return fc.tuple(known, extra).map(([a, b]) => ({ ...b, ...a }));
      }
      default: return jsonValue;
    }
  });
  return fc.oneof({ weight: 5, arbitrary: shaped.length ? fc.oneof(...shaped) : jsonValue }, { weight: 1, arbitrary: jsonValue });
}

interface ApiRequest { method: string; path: string; headers: Record<string, string>; body?: string; tokenTenant: 'demo' | 'operator' }

function requests(operations: Operation[], tokens: Record<'demo' | 'operator', string>, ids: Record<Tenant, Record<string, string>>): fc.Arbitrary<ApiRequest> {
  const everyId = [...Object.values(ids.demo), ...Object.values(ids.other)];
  return fc.constantFrom(...operations).chain((op) => fc.record({
    // A tenant's token also aims at the other tenant; the operator's stays on demo (it may change any tenant).
    token: fc.constantFrom<'demo' | 'operator'>('demo', 'demo', 'operator'),
    pathTenant: fc.constantFrom<Tenant>('demo', 'demo', 'demo', 'other'),
    params: fc.oneof({ weight: 2, arbitrary: fc.constant<Record<string, string>>({}) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('tenant', 'clientId', 'userId', 'groupId', 'name', 'invitationId'),
      fc.oneof(hostileSegment, fc.constantFrom(...everyId).map(enc)), { maxKeys: 2 }) }),
    query: op.query.length ? fc.option(fc.array(fc.oneof(
      fc.constantFrom(...op.query).chain((q) => valueFor(q.schema, everyId).map((v) => [q.name, typeof v === 'string' ? v : JSON.stringify(v) ?? ''] as const)),
      fc.tuple(fc.constantFrom('frobnicate', 'limit', 'offset', 'tenant'), hostileText),
    ), { maxLength: 4 })) : fc.constant(null),
    body: op.body ? fc.oneof(
      { weight: 6, arbitrary: valueFor(op.body, everyId).map((v) => JSON.stringify(v) ?? 'null') },
      { weight: 1, arbitrary: fc.constantFrom('{', '[1,', '\uFEFF{}', 'null', '"x"', '', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}') },
    ) : fc.option(jsonValue.map((v) => JSON.stringify(v) ?? 'null'), { freq: 5 }),
    contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', ''),
  }).map((r) => {
    const tenant = r.token === 'operator' ? 'demo' : r.pathTenant;
    let path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => r.params[name] ?? (name === 'tenant' ? tenant : enc(ids[tenant][name] ?? 'x')));
    if (r.token === 'operator' && /^\/api\/tenants\/other(\/|$)/.test(path)) path = path.replace('/api/tenants/other', '/api/tenants/demo');
    if (r.query?.length) path += `?${r.query.map(([k, v]) => `${k}=${enc(v)}`).join('&')}`;
    const headers: Record<string, string> = { authorization: `Bearer ${tokens[r.token]}` };
    if (r.contentType) headers['content-type'] = r.contentType;
    return { method: op.method.toUpperCase(), path, headers, tokenTenant: r.token, ...(r.body !== null && op.method !== 'get' ? { body: r.body } : {}) };
  }));
}

/** Everything of a tenant the API can change. */
async function snapshot(server: TestServer, tenant: string): Promise<string> {
  const { db } = server.services.database;
  const rows = async (table: 'clients' | 'users' | 'groups' | 'group_members' | 'claim_definitions' | 'invitations' | 'signing_keys') =>
    (await db.selectFrom(table).selectAll().where('tenant_id', '=', tenant).execute()).map((r) => JSON.stringify(r)).sort();
  return JSON.stringify({
    tenant: await db.selectFrom('tenants').selectAll().where('id', '=', tenant).execute(),
    clients: await rows('clients'), users: await rows('users'), groups: await rows('groups'), members: await rows('group_members'),
    claims: await rows('claim_definitions'), invitations: await rows('invitations'), keys: await rows('signing_keys'),
  });
}

for (const db of await databases()) {
  describe(`admin API under hostile input (${db})`, () => {
    test(`${REQUESTS} generated API requests: no 5xx, every refusal a problem document, the other tenant untouched (seed ${SEED})`, async () => {
      const server = await startTestServer(db);
      try {
        const { services } = server;
        const ids: Record<Tenant, Record<string, string>> = await seedTwoTenants(services, { invitationToGroup: true });
        const tokens = {
          demo: (await services.apiTokens.create({ tenantId: 'demo' })).token,
          operator: (await services.apiTokens.create({ tenantId: null })).token,
        };
        const document = await (await fetch(`${server.origin}/api/openapi.json`)).json() as { paths: Record<string, Record<string, any>> };
        const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({
          method, path,
          query: (op.parameters ?? []).filter((p: { in: string }) => p.in === 'query').map((p: { name: string; schema: JsonSchema }) => ({ name: p.name, schema: p.schema })),
          body: op.requestBody?.content?.['application/json']?.schema as JsonSchema | undefined,
        })));
        assert.ok(operations.length >= 30);

        const otherBefore = await snapshot(server, 'other');
        const sample = fc.sample(requests(operations, tokens, ids), { numRuns: REQUESTS, seed: SEED });
        const failures: string[] = [];
        const statuses = new Map<number, number>();
        let next = 0;
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
          while (next < sample.length) {
            const request = sample[next++]!;
            const describeRequest = () => `${request.method} ${request.path.slice(0, 200)} (${request.tokenTenant} token, ${request.headers['content-type'] ?? 'no type'}) ${String(request.body ?? '').slice(0, 300)}`;
            try {
              const response = await fetch(`${server.origin}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
              const text = await response.text();
              statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
              if (response.status >= 500) failures.push(`${response.status} for ${describeRequest()}: ${text.slice(0, 200)}`);
              // A generated URL over Node's 16 KB header limit never reaches Sesame (seed 754827730 made one).
              else if (response.status >= 400 && !refusedByNodeParser(response.status, response.headers.get('content-type') ?? '', text)) {
                const problem = /^application\/problem\+json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined;
                if (typeof problem?.code !== 'string' || typeof problem.detail !== 'string' || problem.status !== response.status) {
                  failures.push(`unclear ${response.status} for ${describeRequest()}: ${text.slice(0, 200)}`);
                }
              }
            } catch (error) {
              failures.push(`${(error as Error).message} for ${describeRequest()}`);
            }
          }
        }));
        console.log(`# api fuzz ${db}: ${sample.length} requests, seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
        assert.deepEqual(failures.slice(0, 8).map((f) => f.slice(0, 700)), [], `${failures.length} bad answers (replay with API_FUZZ_SEED=${SEED})`);
        assert.equal(await snapshot(server, 'other'), otherBefore, 'requests with the demo tenant\'s token changed nothing of the other tenant');
        assert.equal((await fetch(`${server.origin}/healthz`)).status, 200, 'the server still answers');
      } finally {
        await server.close();
      }
    });
  });
}
