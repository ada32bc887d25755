import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

const ROW_ID = 'fido';

export interface StoredBlob {
  no: number;
  nextUpdate: string;
  loadedAt: number;
  source: string;
}

/** The FIDO metadata BLOB in force, and the credentials its status reports flag. */
export class MdsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async current(): Promise<StoredBlob | undefined> {
    const row = await this.db.selectFrom('mds_blob').select(['no', 'next_update', 'loaded_at', 'source']).where('id', '=', ROW_ID).executeTakeFirst();
    return row && { no: Number(row.no), nextUpdate: row.next_update, loadedAt: Number(row.loaded_at), source: row.source };
  }

  async payload(): Promise<{ no: number; payload: string } | undefined> {
    const row = await this.db.selectFrom('mds_blob').select(['no', 'payload']).where('id', '=', ROW_ID).executeTakeFirst();
    return row && { no: Number(row.no), payload: row.payload };
  }

  /**
   * Puts the BLOB in force if its number is higher than the one in force (in one statement, so of
   * two loads at once only a newer one wins), and sets every credential's flag to its AAGUID's
   * security status in it (cleared when the BLOB reports none). False when a BLOB with this or a
   * higher number is already in force; nothing changes then.
   */
  replace(blob: StoredBlob & { payload: string }, securityStatuses: Map<string, string>): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const values = { no: blob.no, next_update: blob.nextUpdate, loaded_at: blob.loadedAt, source: blob.source, payload: blob.payload };
      const result = await trx.insertInto('mds_blob').values({ id: ROW_ID, ...values })
        .onConflict((oc) => oc.column('id').doUpdateSet(values).where('mds_blob.no', '<', blob.no))
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      const flagged = [...securityStatuses.keys()];
      let clear = trx.updateTable('credentials').set({ mds_flag: null }).where('mds_flag', 'is not', null);
      if (flagged.length) clear = clear.where('aaguid', 'not in', flagged);
      await clear.execute();
      for (const [aaguid, status] of securityStatuses) {
        await trx.updateTable('credentials').set({ mds_flag: status }).where('aaguid', '=', aaguid).execute();
      }
      return true;
    });
  }

  async countFlagged(): Promise<number> {
    const row = await this.db.selectFrom('credentials').select((eb) => eb.fn.countAll<number>().as('n')).where('mds_flag', 'is not', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
