import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';
import { whenDurable } from './group-commit.js';

type Write = (db: Kysely<Schema>) => Promise<unknown>;

/**
 * Writes of one request that may wait until its end, committed there in one transaction.
 *
 * On SQLite every commit syncs the write-ahead log to disk (synchronous = FULL), and that sync,
 * not the SQL, was most of what a write cost: an OIDC request such as the resumed authorization
 * wrote five rows (the interaction deleted, the session, its passkey, the grant, the code), five
 * syncs one after another. In a batch they are one transaction and one sync, committed before
 * the response is written, so nothing is acknowledged that is not durable.
 *
 * Only writes whose outcome the request does not need go through a batch (`defer`): a write that
 * decides something (a code consumed once, a counter) runs at once, after the batch's earlier
 * writes (`commitNow`), so the order of writes is the order of the request. What the request
 * reads back of its own deferred writes, the caller answers from `pending`. When the request
 * fails, what it wrote before the failure is committed all the same, as it would have been
 * without a batch.
 */
export class WriteBatch {
  private writes: Write[] = [];
  /** Rows the deferred writes will put (null: delete), by a key of the caller's choosing. */
  readonly pending = new Map<string, unknown>();
  private open = true;

  constructor(readonly db: Kysely<Schema>) {}

  /** Keeps `write` for the end of the request; without an open batch the caller writes at once. */
  defer(write: Write, pending?: { key: string; row: unknown }): boolean {
    if (!this.open) return false;
    this.writes.push(write);
    if (pending) this.pending.set(pending.key, pending.row);
    return true;
  }

  /** Commits the writes kept so far (one transaction), before a write that must run at once. */
  async commitNow(): Promise<void> {
    const writes = this.writes;
    const committing = [...this.pending];
    this.writes = [];
    if (writes.length === 1) {
      await writes[0](this.db);
    } else if (writes.length > 1) {
      await this.db.transaction().execute(async (trx) => {
        for (const write of writes) await write(trx);
      });
    }
    // Now in the database (unless written again meanwhile): reads go there.
    for (const [key, row] of committing) if (this.pending.get(key) === row) this.pending.delete(key);
  }

  async close(): Promise<void> {
    this.open = false;
    await this.commitNow();
  }
}

const batches = new AsyncLocalStorage<WriteBatch>();

/**
 * Runs `work` (a request's handling) with a write batch for `db`, and commits the batch when the
 * work ends, before its answer is sent; then waits until the request's writes are durable
 * (group-commit.ts). A failure to commit, or to sync, is the request's failure.
 */
export async function withWriteBatch<T>(db: Kysely<Schema>, work: () => Promise<T>): Promise<T> {
  const batch = new WriteBatch(db);
  let result: T;
  try {
    result = await batches.run(batch, work);
  } catch (error) {
    await batch.close();
    throw error;
  }
  await batch.close();
  await whenDurable(db);
  return result;
}

/** The batch of the request under way, if it has one for `db`. */
export function currentBatch(db: Kysely<Schema>): WriteBatch | undefined {
  const batch = batches.getStore();
  return batch?.db === db ? batch : undefined;
}
