import { createHash } from 'node:crypto';
import { randomId } from '../ids.js';
import { badRequest, notFound, tooManyRequests, unauthorized } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ApiTokenRecord, ApiTokenRepository } from '../storage/repositories/api-tokens.js';
import type { RateLimitRepository } from '../storage/repositories/rate-limits.js';
import type { TenantService } from '../tenants/tenant-service.js';
import { networkOf } from '../http/middleware/rate-limit.js';

/** Every token starts with this, so that secret scanners (and people) recognise one. */
export const API_TOKEN_PREFIX = 'sesame_at_';
export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 366;
/** Refused tokens per network and minute before every API call from it is refused for the rest of the minute. */
export const API_AUTH_FAILURES_PER_MINUTE = 10;

/** Who calls the admin API: a tenant's token sees that tenant only; an operator token sees every tenant. */
export interface ApiPrincipal {
  tokenId: string;
  tenantId: string | null;
  /** When the token stops working: a token it makes may not live longer (create's `notAfter`). */
  expiresAt: number;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Admin API tokens: per tenant or for the operator (every tenant), with an expiry, revocable,
 * shown once when made; only their SHA-256 is stored (256 random bits: nothing to guess, so no
 * slow hash — design decision 17). Made with `sesame token create` or by the console.
 */
export class ApiTokenService {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly tenants: TenantService,
    private readonly counts: RateLimitRepository,
    private readonly audit: AuditLog,
  ) {}

  /**
   * A new token; `tenantId` null makes an operator token. The token itself is in the answer only.
   * `notAfter` (the expiry of the API token that asks for this one) bounds its life: a token never
   * makes one that outlives it, so a leaked token cannot extend its own reach. Without
   * `expiresInDays` the token then lives the default or until `notAfter`, whichever comes first.
   */
  async create(input: { tenantId: string | null; name?: string; expiresInDays?: number; notAfter?: number }, now = Date.now()): Promise<{ token: string; record: ApiTokenRecord }> {
    if (input.tenantId !== null) await this.tenants.requireTenant(input.tenantId);
    const days = input.expiresInDays ?? DEFAULT_TOKEN_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) {
      throw badRequest(`A token lives 1 to ${MAX_TOKEN_DAYS} days (whole days), not ${days}.`, 'invalid_expiry');
    }
    let expiresAt = now + days * 86_400_000;
    if (input.notAfter !== undefined && expiresAt > input.notAfter) {
      if (input.expiresInDays !== undefined) {
        const most = Math.floor((input.notAfter - now) / 86_400_000);
        throw badRequest(`A token cannot make a token that outlives it: yours expires at ${new Date(input.notAfter).toISOString()}, so the new one may live `
          + `${most >= 1 ? `at most ${most} day${most === 1 ? '' : 's'}` : 'no whole day'} (leave expiresInDays out to make it expire with yours).`, 'token_outlives_creator');
      }
      expiresAt = input.notAfter;
    }
    const name = (input.name ?? '').trim() || (input.tenantId ? `API token for ${input.tenantId}` : 'Operator API token');
    if (name.length > 100) throw badRequest('A token\'s name has at most 100 characters.', 'invalid_name');
    const token = `${API_TOKEN_PREFIX}${randomId(32)}`;
    const record: ApiTokenRecord = { id: randomId(9), tenantId: input.tenantId, name, createdAt: now, expiresAt, revokedAt: null, lastUsedAt: null };
    await this.tokens.insert(record, hashToken(token));
    await this.audit.record({ type: 'admin.api_token_created', tenantId: input.tenantId ?? '*', detail: { tokenId: record.id, name, expiresAt: new Date(record.expiresAt).toISOString() } });
    return { token, record };
  }

  /** A tenant's tokens; with null the operator tokens; with undefined all of them. */
  list(tenantId: string | null | undefined): Promise<ApiTokenRecord[]> {
    return this.tokens.list(tenantId);
  }

  /** Revokes a token at once. `tenantId`, when given, must be the token's (a tenant administrator revokes only its own). */
  async revoke(id: string, tenantId?: string, now = Date.now()): Promise<ApiTokenRecord> {
    const token = await this.tokens.find(id);
    if (!token || (tenantId !== undefined && token.tenantId !== tenantId)) throw notFound(`There is no API token "${id}".`, 'unknown_token');
    if (!await this.tokens.revoke(id, now)) throw badRequest(`API token "${id}" is already revoked.`, 'already_revoked');
    await this.audit.record({ type: 'admin.api_token_revoked', tenantId: token.tenantId ?? '*', detail: { tokenId: id, name: token.name } });
    return { ...token, revokedAt: now };
  }

  /**
   * The principal of an `Authorization: Bearer` value. Refusals are counted per network: beyond
   * API_AUTH_FAILURES_PER_MINUTE every call from it is refused (429) for the rest of the minute,
   * a right token included, so that guessing costs time and nothing is learnt from the answers.
   */
  async authenticate(authorization: string | undefined, ip: string, now = Date.now()): Promise<ApiPrincipal> {
    const key = `api-auth:${createHash('sha256').update(networkOf(ip)).digest('base64url')}`;
    const presented = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(authorization ?? '')?.[1];
    const token = presented?.startsWith(API_TOKEN_PREFIX) ? await this.tokens.findValid(hashToken(presented), now) : undefined;
    if (!token) {
      if (await this.counts.hit(key, 60_000, now) > API_AUTH_FAILURES_PER_MINUTE) {
        throw tooManyRequests('Too many requests with a wrong API token came from your network. Wait a minute.', 60 - Math.floor((now % 60_000) / 1000));
      }
      throw unauthorized(authorization
        ? 'This API token is not valid: it is wrong, expired or revoked.'
        : 'The admin API needs an API token: send it as Authorization: Bearer <token> (make one with sesame token create).', authorization ? 'invalid_token' : 'missing_token');
    }
    if (await this.counts.peek(key, 60_000, now) > API_AUTH_FAILURES_PER_MINUTE) {
      throw tooManyRequests('Too many requests with a wrong API token came from your network. Wait a minute.', 60);
    }
    await this.tokens.touch(token.id, now);
    return { tokenId: token.id, tenantId: token.tenantId, expiresAt: token.expiresAt };
  }
}
