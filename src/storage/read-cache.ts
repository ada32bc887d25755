import type { PubSub } from './pubsub.js';

/** Where every node announces the key of a record it changed, so that the others forget it. */
export const CACHE_CHANNEL = 'sesame_cache';
/** The longest a cached record is used: a bound on staleness should an announcement ever be lost. */
export const READ_CACHE_TTL_MS = 30_000;

interface Entry {
  row: unknown;
  expiresAt: number;
}

/**
 * Rows read often and changed rarely (tenants, clients), kept in memory by key. A sign-in read
 * its client five times and its tenant three times. What is kept is the row as stored (secrets
 * still sealed); repositories build their records from it on every read, so no caller can change
 * what another gets.
 *
 * A write through a repository commits first and then calls `changed`: the key is forgotten here
 * at once and announced on CACHE_CHANNEL (NOTIFY on PostgreSQL, so other nodes and the CLI's writes
 * reach every node within the notification's round trip). On SQLite the other writer can only be
 * another process on the same file (the CLI), which announces nothing: `externalVersion` (SQLite's
 * data_version, which changes when another connection commits) empties the cache then.
 *
 * A read that was under way when any key was forgotten is not kept (it may predate the write);
 * while the LISTEN connection is down nothing is kept or used, and when it is back everything is
 * forgotten, because announcements sent meanwhile are lost. Absent rows are never kept: a client
 * created on another node works at once.
 */
export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every forget: a read started before it must not be kept. */
  private generation = 0;
  private seenExternalVersion: number | undefined;

  constructor(
    private readonly pubsub: PubSub,
    private readonly externalVersion: () => number = () => 0,
    private readonly ttlMs = READ_CACHE_TTL_MS,
  ) {
    pubsub.subscribe(CACHE_CHANNEL, (key) => this.forget(key));
    pubsub.onReconnect(() => this.clear());
  }

  async read<Row>(key: string, load: () => Promise<Row | undefined>): Promise<Row | undefined> {
    if (!this.pubsub.connected) return load();
    const version = this.externalVersion();
    if (version !== this.seenExternalVersion) {
      this.clear();
      this.seenExternalVersion = version;
    }
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > Date.now()) return entry.row as Row;
    const generation = this.generation;
    const row = await load();
    if (row !== undefined && generation === this.generation && this.pubsub.connected) {
      this.entries.set(key, { row, expiresAt: Date.now() + this.ttlMs });
    }
    return row;
  }

  /** After a write has committed: forgets the key on this node and announces it to every other. */
  async changed(key: string): Promise<void> {
    this.forget(key);
    await this.pubsub.publish(CACHE_CHANNEL, key);
  }

  private forget(key: string): void {
    this.generation += 1;
    this.entries.delete(key);
  }

  private clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}

/**
 * The cache of each open database, found from its Kysely instance: repositories are built from
 * the Kysely instance alone, in more than one place (the services, each tenant's provider). A
 * transaction is another instance, so reads inside one always go to the database.
 */
const caches = new WeakMap<object, ReadCache>();

export function attachReadCache(db: object, cache: ReadCache): void {
  caches.set(db, cache);
}

/** The row by key, from the cache of `db` when it has one (openDatabase attached it), else from `load`. */
export function readThrough<Row>(db: object, key: string, load: () => Promise<Row | undefined>): Promise<Row | undefined> {
  const cache = caches.get(db);
  return cache ? cache.read(key, load) : load();
}

/** After a write through `db` has committed: every node forgets the key. */
export async function announceChange(db: object, key: string): Promise<void> {
  await caches.get(db)?.changed(key);
}
