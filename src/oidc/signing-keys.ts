import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { SigningKey, SigningKeyRepository } from '../storage/repositories/signing-keys.js';

/**
 * Per-tenant ID-token signing keys (research/b2c.md §3): RS256 only, since an EC key in the JWKS
 * breaks Azure AD B2C. A rotated-in key is published for PUBLISH_AHEAD_MS before it signs, so
 * relying parties that cache the JWKS (Entra: 24 h) already know it; a replaced key stays published
 * for RETAIN_MS after its successor starts signing, for tokens still in flight.
 */
export const PUBLISH_AHEAD_MS = 48 * 3600 * 1000;
export const RETAIN_MS = 48 * 3600 * 1000;

export interface KeySet {
  /** Private JWKs in the order oidc-provider wants them: the signing key first. */
  keys: Array<Record<string, unknown>>;
  /** When the set changes next (a pending key activates); undefined if nothing is scheduled. */
  changesAt: number | undefined;
}

export interface PublishedKey {
  kid: string;
  alg: string;
  createdAt: number;
  activatesAt: number;
  /** signing: signs ID tokens now; next: published, signs from activatesAt; retiring: published until retiresAt. */
  state: 'signing' | 'next' | 'retiring';
  retiresAt: number | undefined;
}

export class SigningKeyService {
  constructor(private readonly repository: SigningKeyRepository) {}

  async createKey(tenantId: string, activatesAt: number, now = Date.now()): Promise<SigningKey> {
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(jwk);
    const key: SigningKey = {
      tenantId,
      kid,
      alg: 'RS256',
      privateJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
      createdAt: now,
      activatesAt,
    };
    await this.repository.insert(key);
    return key;
  }

  /** Publishes a new key now that starts signing after PUBLISH_AHEAD_MS, and drops keys retired long enough. */
  async rotate(tenantId: string, now = Date.now()): Promise<{ next: SigningKey; removed: string[] }> {
    const next = await this.createKey(tenantId, now + PUBLISH_AHEAD_MS, now);
    const keys = await this.repository.listByTenant(tenantId);
    const removed = retiredKeys(keys, now).map((k) => k.kid);
    await this.repository.deleteKeys(tenantId, removed);
    return { next, removed };
  }

  /** The tenant's published keys as the console lists them: which signs, which is next, which is retiring and when. */
  async describe(tenantId: string, now = Date.now()): Promise<PublishedKey[]> {
    const keys = await this.repository.listByTenant(tenantId);
    const retired = new Set(retiredKeys(keys, now).map((k) => k.kid));
    const signing = keys.filter((k) => k.activatesAt <= now).sort((a, b) => b.activatesAt - a.activatesAt)[0];
    return keys.filter((k) => !retired.has(k.kid)).sort((a, b) => b.activatesAt - a.activatesAt).map((k) => ({
      kid: k.kid,
      alg: k.alg,
      createdAt: k.createdAt,
      activatesAt: k.activatesAt,
      state: k === signing ? 'signing' : k.activatesAt > now ? 'next' : 'retiring',
      retiresAt: k === signing ? undefined : retirementTime(k, keys),
    }));
  }

  async keySet(tenantId: string, now = Date.now()): Promise<KeySet> {
    const keys = await this.repository.listByTenant(tenantId);
    const retired = new Set(retiredKeys(keys, now).map((k) => k.kid));
    const active = keys.filter((k) => k.activatesAt <= now).sort((a, b) => b.activatesAt - a.activatesAt);
    const pending = keys.filter((k) => k.activatesAt > now).sort((a, b) => a.activatesAt - b.activatesAt);
    const published = [...active, ...pending].filter((k) => !retired.has(k.kid));
    if (active.length === 0) throw new Error(`Tenant ${tenantId} has no active signing key.`);
    const changes = [pending[0]?.activatesAt, ...active.slice(1).map((k) => retirementTime(k, keys))]
      .filter((t): t is number => t !== undefined && t > now);
    return {
      keys: published.map((k) => k.privateJwk),
      changesAt: changes.length ? Math.min(...changes) : undefined,
    };
  }
}

/** A key retires RETAIN_MS after the next newer key became active. */
function retirementTime(key: SigningKey, all: SigningKey[]): number | undefined {
  const successor = all.filter((k) => k.activatesAt > key.activatesAt).sort((a, b) => a.activatesAt - b.activatesAt)[0];
  return successor ? successor.activatesAt + RETAIN_MS : undefined;
}

function retiredKeys(keys: SigningKey[], now: number): SigningKey[] {
  return keys.filter((k) => {
    const retiresAt = retirementTime(k, keys);
    return retiresAt !== undefined && retiresAt <= now;
  });
}
