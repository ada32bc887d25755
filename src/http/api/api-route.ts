import './zod-openapi.js';
import type { Context } from 'koa';
import Router from '@koa/router';
import { z, type AnyZodObject, type ZodTypeAny } from 'zod';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { parseInput } from '../validate.js';
import { forbidden, notFound, SesameError } from '../../errors.js';
import { currentAuditContext, runWithAuditContext } from '../../audit/audit-context.js';
import type { ApiPrincipal, ApiTokenService } from '../../admin/api-tokens.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiInput<P extends AnyZodObject, Q extends AnyZodObject, B extends ZodTypeAny> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: z.infer<B>;
  principal: ApiPrincipal;
}

/**
 * One endpoint of the admin API, described once: its zod schemas validate the request AND make
 * its part of the OpenAPI document, so the two cannot drift apart. A `{tenant}` path parameter
 * is authorised before anything else runs: a tenant's token reaches its own tenant only (any other
 * answers 404, as a tenant that does not exist), an operator token every tenant. `operatorOnly`
 * endpoints refuse tenant tokens.
 */
export interface ApiRoute<P extends AnyZodObject = AnyZodObject, Q extends AnyZodObject = AnyZodObject, B extends ZodTypeAny = ZodTypeAny> {
  method: Method;
  /** OpenAPI form: /api/tenants/{tenant}/clients/{clientId}. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  operatorOnly?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** The success answer: its status, and the schema of its JSON (none for 204). */
  status: 200 | 201 | 204;
  response?: ZodTypeAny;
  handle(input: ApiInput<P, Q, B>): Promise<unknown>;
}

export function route<P extends AnyZodObject = AnyZodObject, Q extends AnyZodObject = AnyZodObject, B extends ZodTypeAny = ZodTypeAny>(definition: ApiRoute<P, Q, B>): ApiRoute {
  return definition as unknown as ApiRoute;
}

const problemSchema = z.object({
  type: z.string().describe('urn:sesame:problem:<code>'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().describe('What went wrong, for a person to read.'),
  code: z.string().describe('A stable code, e.g. invalid_request, unknown_client.'),
  requestId: z.string().optional(),
});

const errorResponses = (definition: ApiRoute) => ({
  ...(definition.params || definition.query || definition.body ? { 400: problem('The request is not valid: nothing was changed.') } : {}),
  401: problem('No API token, or one that is wrong, expired or revoked.'),
  ...(definition.operatorOnly ? { 403: problem('A tenant\'s token cannot do this: it needs an operator token.') } : {}),
  404: problem('There is no such tenant (or not for this token), or no such object in it.'),
  429: problem('Too many requests with a wrong token came from this network.'),
});

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });

/** The Koa router of the admin API and its OpenAPI document, both made from the same route definitions. */
export function apiRouter(routes: ApiRoute[], deps: { apiTokens: ApiTokenService; requireTenant: (id: string) => Promise<unknown>; publicUrl: string; version: string }): Router {
  const router = new Router();
  // Made at the first request for it, not at start-up (some 100 ms, and 1 MB of heap as objects),
  // and kept as its JSON text (170 KB): few nodes are ever asked for it (docs/performance.md, "Memory").
  let document: string | undefined;
  router.get('/api/openapi.json', (ctx) => {
    document ??= JSON.stringify(openApiDocument(routes, deps.publicUrl, deps.version));
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json';
    ctx.body = document;
  });
  for (const definition of routes) {
    const koaPath = definition.path.replace(/\{(\w+)\}/g, ':$1');
    router[definition.method](koaPath, async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      const principal = await deps.apiTokens.authenticate(ctx.get('Authorization') || undefined, ctx.ip);
      if (definition.operatorOnly && principal.tenantId !== null) throw forbidden('This needs an operator token: a tenant\'s token manages its own tenant only.', 'operator_token_required');
      const params = parseInput(definition.params ?? z.object({}), ctx.params);
      const tenant = (params as { tenant?: string }).tenant;
      if (tenant !== undefined && principal.tenantId !== null && principal.tenantId !== tenant) {
        throw notFound(`There is no tenant called "${tenant}".`, 'unknown_tenant');
      }
      // Before the query and body: a tenant that does not exist is answered alike whatever was sent.
      if (tenant !== undefined) await deps.requireTenant(tenant);
      const query = parseInput(definition.query ?? z.object({}), ctx.query);
      const body = definition.body ? parseInput(definition.body, requireJsonBody(ctx)) : undefined;
      const context = currentAuditContext();
      const result = await runWithAuditContext({ ...context, actor: `api:${principal.tokenId}` }, () => definition.handle({ params, query, body, principal }));
      ctx.status = definition.status;
      if (definition.status !== 204) ctx.body = result;
    });
  }
  return router;
}

function requireJsonBody(ctx: Context): unknown {
  if (ctx.request.length && !ctx.is('application/json')) throw new SesameError('unsupported_media_type', 415, 'Send the request body as JSON (Content-Type: application/json).');
  return ctx.request.body ?? {};
}

export function openApiDocument(routes: ApiRoute[], publicUrl: string, version: string) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiToken', {
    type: 'http', scheme: 'bearer',
    description: 'An API token from `sesame token create --tenant <id>` (one tenant) or `sesame token create --operator` (every tenant).',
  });
  for (const definition of routes) {
    registry.registerPath({
      method: definition.method,
      path: definition.path,
      summary: definition.summary,
      ...(definition.description ? { description: definition.description } : {}),
      tags: [definition.tag],
      operationId: operationId(definition),
      security: [{ apiToken: [] }],
      ...(definition.operatorOnly ? { 'x-sesame-operator-only': true } : {}),
      request: {
        ...(definition.params ? { params: definition.params } : {}),
        ...(definition.query ? { query: definition.query } : {}),
        ...(definition.body ? { body: { required: true, content: { 'application/json': { schema: definition.body } } } } : {}),
      },
      responses: {
        [definition.status]: definition.status === 204 || !definition.response
          ? { description: 'Done.' }
          : { description: 'Done.', content: { 'application/json': { schema: definition.response } } },
        ...errorResponses(definition),
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Sesame admin API',
      version,
      description: 'Manage a Sesame tenant\'s clients, users, groups and claims, invitations, settings, signing keys and audit log. Errors are RFC 9457 problem details. See docs/admin-api.md.',
    },
    servers: [{ url: publicUrl }],
  });
}

/** getTenantsByTenantClientsByClientId: unique as long as (method, path) is. */
function operationId(definition: ApiRoute): string {
  const capital = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
  const words = definition.path.replace(/^\/api\//, '').split('/')
    .map((w) => (w.startsWith('{') ? `By${capital(w.slice(1, -1))}` : capital(w.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase()))));
  return `${definition.method}${words.join('')}`;
}
