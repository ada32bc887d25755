import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { AttestationRoot } from '../../webauthn/attestation/tenant-roots.js';

export interface StoredAttestationRoot extends AttestationRoot {
  addedAt: number;
}

/** The attestation roots each tenant trusts besides the FIDO metadata's (tenant_attestation_roots). */
export class AttestationRootRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Adds roots; one the tenant already trusts (same fingerprint) stays as it was. Answers how many were new. */
  async add(tenantId: string, roots: AttestationRoot[], now: number): Promise<number> {
    let added = 0;
    await this.db.transaction().execute(async (trx) => {
      for (const root of roots) {
        const result = await trx.insertInto('tenant_attestation_roots').values({
          tenant_id: tenantId, fingerprint: root.fingerprint, subject: root.subject, pem: root.pem, not_after: root.notAfter, added_at: now,
        }).onConflict((oc) => oc.columns(['tenant_id', 'fingerprint']).doNothing()).executeTakeFirst();
        added += Number(result.numInsertedOrUpdatedRows ?? 0);
      }
    });
    return added;
  }

  async list(tenantId: string): Promise<StoredAttestationRoot[]> {
    const rows = await this.db.selectFrom('tenant_attestation_roots').selectAll().where('tenant_id', '=', tenantId).orderBy('added_at').orderBy('fingerprint').execute();
    return rows.map((row) => ({ fingerprint: row.fingerprint, subject: row.subject, pem: row.pem, notAfter: Number(row.not_after), addedAt: Number(row.added_at) }));
  }

  async pems(tenantId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('tenant_attestation_roots').select('pem').where('tenant_id', '=', tenantId).execute();
    return rows.map((row) => row.pem);
  }

  /** Removes one root (by fingerprint) or, with 'all', every root of the tenant; answers how many went. */
  async remove(tenantId: string, fingerprint: string | 'all'): Promise<number> {
    let query = this.db.deleteFrom('tenant_attestation_roots').where('tenant_id', '=', tenantId);
    if (fingerprint !== 'all') query = query.where('fingerprint', '=', fingerprint);
    return Number((await query.executeTakeFirst()).numDeletedRows);
  }
}
