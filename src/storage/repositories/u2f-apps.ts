import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface U2fApp {
  appId: string;
  facets: string[];
}

/** A tenant's FIDO U2F AppID and its trusted facets (one row per tenant that has one). */
export class U2fAppRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async find(tenantId: string): Promise<U2fApp | undefined> {
    const row = await this.db.selectFrom('u2f_apps').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return row && { appId: row.app_id, facets: JSON.parse(row.facets) as string[] };
  }

  async save(tenantId: string, app: U2fApp): Promise<void> {
    const values = { app_id: app.appId, facets: JSON.stringify(app.facets) };
    await this.db.insertInto('u2f_apps').values({ tenant_id: tenantId, ...values })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values)).execute();
  }

  async remove(tenantId: string): Promise<void> {
    await this.db.deleteFrom('u2f_apps').where('tenant_id', '=', tenantId).execute();
  }
}
