import './zod-openapi.js';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { ApiTokenRecord } from '../../storage/repositories/api-tokens.js';
import { DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS } from '../../admin/api-tokens.js';
import { badRequest } from '../../errors.js';
import { route, type ApiRoute } from './api-route.js';
import { epochMs, id, tenantParams } from './api-schemas.js';

/**
 * API tokens managed through the API: a tenant's tokens under its path (a tenant token reaches only
 * its own tenant's), operator tokens and every token under /api/tokens (operator tokens only). No
 * token makes a token that outlives it (ApiTokenService.create's `notAfter`), and a tenant token can
 * never make an operator token: /api/tokens refuses it.
 */
const apiTokenSchema = z.object({
  id: z.string(),
  tenantId: z.string().nullable().describe('The tenant it manages; null: an operator token (every tenant).'),
  name: z.string(),
  createdAt: epochMs,
  expiresAt: epochMs,
  revokedAt: epochMs.nullable(),
  lastUsedAt: epochMs.nullable().describe('Noted at most once a minute.'),
  state: z.enum(['active', 'expired', 'revoked']),
});

const apiTokenCreateBody = z.object({
  name: z.string().min(1).max(100).optional().describe('What it is for, e.g. "CI deploys".'),
  expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional()
    .describe(`Default ${DEFAULT_TOKEN_DAYS}, or until the token making it expires if that is sooner: a token never makes one that outlives it.`),
}).strict();

const apiTokenCreated = z.object({
  token: z.string().describe('The token (sesame_at_…): shown only in this answer, Sesame keeps its hash.'),
  apiToken: apiTokenSchema,
});

const tokenListQuery = z.object({
  tenant: id('tenant id').optional().describe('Only this tenant\'s tokens.'),
  operator: z.enum(['true']).optional().describe('true: only operator tokens.'),
}).strict();

const tenantTokenParams = tenantParams.extend({ tokenId: id('token id') });
const tokenParams = z.object({ tokenId: id('token id') });

const view = (record: ApiTokenRecord, now = Date.now()) => ({
  ...record,
  state: record.revokedAt !== null ? 'revoked' as const : record.expiresAt <= now ? 'expired' as const : 'active' as const,
});

export function apiTokenRoutes(services: Services): ApiRoute[] {
  const { apiTokens } = services;
  return [
    route({
      method: 'get', path: '/api/tenants/{tenant}/tokens', tag: 'API tokens', summary: 'The tenant\'s API tokens, newest first (never the tokens themselves)', status: 200,
      params: tenantParams, response: apiTokenSchema.array(),
      handle: async ({ params }) => (await apiTokens.list(params.tenant)).map((t) => view(t)),
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/tokens', tag: 'API tokens', status: 201,
      summary: 'Make an API token for the tenant: the token is in the answer, once',
      description: 'It expires no later than the token that makes it.',
      params: tenantParams, body: apiTokenCreateBody, response: apiTokenCreated,
      handle: async ({ params, body, principal }) => {
        const { token, record } = await apiTokens.create({ tenantId: params.tenant, ...body, notAfter: principal.expiresAt });
        return { token, apiToken: view(record) };
      },
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/tokens/{tokenId}', tag: 'API tokens', summary: 'Revoke one of the tenant\'s API tokens: it stops working at once', status: 204,
      params: tenantTokenParams,
      handle: async ({ params }) => {
        await apiTokens.revoke(params.tokenId, params.tenant);
      },
    }),
    route({
      method: 'get', path: '/api/tokens', tag: 'API tokens', summary: 'API tokens of every tenant and the operator\'s, newest first, or of one tenant, or the operator\'s only (operator tokens only)', operatorOnly: true, status: 200,
      query: tokenListQuery, response: apiTokenSchema.array(),
      handle: async ({ query }) => {
        if (query.tenant && query.operator) throw badRequest('Give tenant or operator=true, not both.');
        return (await apiTokens.list(query.operator ? null : query.tenant)).map((t) => view(t));
      },
    }),
    route({
      method: 'post', path: '/api/tokens', tag: 'API tokens', summary: 'Make an operator token (operator tokens only): the token is in the answer, once', operatorOnly: true, status: 201,
      description: 'It expires no later than the token that makes it. A tenant\'s token is made under /api/tenants/{tenant}/tokens.',
      body: apiTokenCreateBody, response: apiTokenCreated,
      handle: async ({ body, principal }) => {
        const { token, record } = await apiTokens.create({ tenantId: null, ...body, notAfter: principal.expiresAt });
        return { token, apiToken: view(record) };
      },
    }),
    route({
      method: 'delete', path: '/api/tokens/{tokenId}', tag: 'API tokens', summary: 'Revoke any API token (operator tokens only)', operatorOnly: true, status: 204,
      params: tokenParams,
      handle: async ({ params }) => {
        await apiTokens.revoke(params.tokenId);
      },
    }),
  ];
}
