import type Provider from 'oidc-provider';
import type { TenantRepository } from '../storage/repositories/tenants.js';
import type { SigningKeyService } from './signing-keys.js';
import type { ProviderDeps } from './provider-factory.js';
import type { Logger } from '../log.js';
import { commitWritesAtEnd, reportProviderFailures } from './provider-failures.js';
import { GroupRepository } from '../storage/repositories/groups.js';

export interface TenantOidc {
  provider: Provider;
  /** The provider's Node request handler, composed once. */
  handle: ReturnType<Provider['callback']>;
}

interface Entry {
  provider: Promise<TenantOidc | undefined>;
  /** Rebuild after this time (a pending signing key activates or an old one retires). */
  validUntil: number;
}

/** How long an unknown-tenant answer is remembered, so a burst of bad URLs costs one query. */
const UNKNOWN_TENANT_TTL_MS = 5_000;
/**
 * Providers are rebuilt at least this often, so a key rotated from the CLI or on another node is
 * published within a minute (far inside the 48 h pre-publication window).
 */
export const PROVIDER_REFRESH_MS = 60_000;

/**
 * One oidc-provider per tenant, built on first use and cached. A tenant's provider is rebuilt
 * when its key set changes (time-based) or when `invalidate` is called (e.g. after `keys rotate`).
 */
export class ProviderRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly tenants: TenantRepository,
    private readonly keys: SigningKeyService,
    private readonly deps: ProviderDeps,
    private readonly log: Logger,
  ) {}

  get(tenantId: string, now = Date.now()): Promise<TenantOidc | undefined> {
    const cached = this.entries.get(tenantId);
    if (cached && cached.validUntil > now) return cached.provider;
    const entry: Entry = { provider: this.build(tenantId, now, (until) => { entry.validUntil = until; }), validUntil: Infinity };
    this.entries.set(tenantId, entry);
    entry.provider.catch(() => this.entries.delete(tenantId));
    return entry.provider;
  }

  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
  }

  private async build(tenantId: string, now: number, setValidUntil: (t: number) => void): Promise<TenantOidc | undefined> {
    const tenant = await this.tenants.find(tenantId);
    if (!tenant) {
      setValidUntil(now + UNKNOWN_TENANT_TTL_MS);
      return undefined;
    }
    const keySet = await this.keys.keySet(tenantId, now);
    setValidUntil(Math.min(keySet.changesAt ?? Infinity, now + PROVIDER_REFRESH_MS));
    // Loaded on first use so that tools which never serve OIDC (the CLI) do not load oidc-provider.
    const { buildProvider } = await import('./provider-factory.js');
    const claimNames = (await new GroupRepository(this.deps.db).definitions(tenantId)).map((d) => d.name);
    const provider = buildProvider(tenant, { keys: keySet.keys }, this.deps, claimNames);
    reportProviderFailures(provider, tenantId, this.log);
    commitWritesAtEnd(provider, this.deps.db);
    return { provider, handle: provider.callback() };
  }
}
