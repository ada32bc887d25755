import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import { U2fAppRepository, type U2fApp } from '../storage/repositories/u2f-apps.js';
import { badRequest, notFound } from '../errors.js';
import { importRegistrations, type ImportReport } from './import.js';

/** The facet ids the FIDO AppID and Facets spec (v1.2 §3.1) knows: web origins and app identities. */
const FACET = /^(https:\/\/[^/?#\s]+|android:apk-key-hash:[A-Za-z0-9+/_-]+={0,2}|ios:bundle-id:[A-Za-z0-9.-]+)$/;

/**
 * A tenant's FIDO U2F AppID: keys registered under it sign in through WebAuthn's appid extension,
 * and its trusted-facets list (FIDO AppID and Facets v1.2) is served by Sesame.
 */
export class U2fService {
  private readonly apps: U2fAppRepository;

  constructor(private readonly db: Kysely<Schema>, private readonly publicUrl: string) {
    this.apps = new U2fAppRepository(db);
  }

  findApp(tenantId: string): Promise<U2fApp | undefined> {
    return this.apps.find(tenantId);
  }

  /** Where Sesame serves a tenant's trusted facets (an AppID may be this URL). */
  trustedFacetsUrl(tenantId: string): string {
    return `${this.publicUrl.replace(/\/$/, '')}/${tenantId}/u2f/trusted-facets`;
  }

  /** Sets (or with null removes) the AppID; a new one trusts Sesame's own origin until facets are set. */
  async setAppId(tenantId: string, appId: string | null): Promise<U2fApp | undefined> {
    if (appId === null) {
      await this.apps.remove(tenantId);
      return undefined;
    }
    checkAppId(appId);
    const facets = (await this.apps.find(tenantId))?.facets ?? [new URL(this.publicUrl).origin];
    const app = { appId, facets };
    await this.apps.save(tenantId, app);
    return app;
  }

  async setFacets(tenantId: string, facets: string[]): Promise<U2fApp> {
    const app = await this.apps.find(tenantId);
    if (!app) throw badRequest('Set the tenant\'s U2F AppID first (--u2f-appid).', 'u2f_no_appid');
    const updated = { appId: app.appId, facets: checkFacets(facets) };
    await this.apps.save(tenantId, updated);
    return updated;
  }

  /**
   * The AppID and, when given, its facets at once (the admin API): both are checked before either
   * is saved. Without facets, those already set stay (Sesame's own origin for a new AppID).
   */
  async configure(tenantId: string, input: { appId: string; facets?: string[] }): Promise<U2fApp> {
    checkAppId(input.appId);
    const facets = input.facets === undefined
      ? (await this.apps.find(tenantId))?.facets ?? [new URL(this.publicUrl).origin]
      : checkFacets(input.facets);
    const app = { appId: input.appId, facets };
    await this.apps.save(tenantId, app);
    return app;
  }

  /** The document an AppID URL serves (content type application/fido.trusted-apps+json). */
  async trustedFacets(tenantId: string): Promise<{ trustedFacets: Array<{ version: { major: number; minor: number }; ids: string[] }> }> {
    const app = await this.apps.find(tenantId);
    if (!app) throw notFound(`Tenant "${tenantId}" has no U2F AppID.`, 'u2f_no_appid');
    return { trustedFacets: [{ version: { major: 1, minor: 0 }, ids: app.facets }] };
  }

  /** Imports U2F registrations made elsewhere under the tenant's AppID (sesame u2f import). */
  async importRegistrations(tenantId: string, records: unknown[], now = Date.now()): Promise<ImportReport> {
    return importRegistrations(this.db, tenantId, (await this.apps.find(tenantId))?.appId, records, now);
  }
}

function checkAppId(appId: string): void {
  let url: URL;
  try {
    url = new URL(appId);
  } catch {
    throw badRequest(`The AppID must be an https URL, not "${appId}".`, 'u2f_appid_invalid');
  }
  if (url.protocol !== 'https:' || url.hash) throw badRequest(`The AppID must be an https URL without a #fragment, not "${appId}".`, 'u2f_appid_invalid');
}

function checkFacets(facets: string[]): string[] {
  const cleaned = [...new Set(facets.map((f) => f.trim()).filter(Boolean))];
  if (cleaned.length === 0) throw badRequest('Give at least one facet (an https origin, android:apk-key-hash:… or ios:bundle-id:…).', 'u2f_facet_invalid');
  const wrong = cleaned.find((f) => !FACET.test(f));
  if (wrong) throw badRequest(`"${wrong}" is not a facet id: use an https origin (https://host[:port], no path), android:apk-key-hash:… or ios:bundle-id:….`, 'u2f_facet_invalid');
  return cleaned;
}
