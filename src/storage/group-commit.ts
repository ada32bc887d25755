import fs from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { Counter } from 'prom-client';
import type { Schema } from './schema.js';

const syncs = new Counter({
  name: 'sesame_sqlite_wal_syncs_total',
  help: "Syncs of SQLite's write-ahead log to disk; each makes every write committed before it durable (group commit).",
});

/**
 * Group commit for SQLite: writes are acknowledged only once they are on disk, and one sync of the
 * write-ahead log makes the writes of every request that waits for it durable at once.
 *
 * With `synchronous = FULL` SQLite syncs the log inside every COMMIT: on the event loop (nothing
 * else runs meanwhile; under load a third of the server's time), once per write transaction (twelve
 * per sign-in). With `synchronous = NORMAL` a commit is durable against a crash of the process but
 * not yet against a power loss; this class closes that gap. Each request, before its answer is
 * sent, waits in `durable()` until a sync of the log that started after its writes has finished. The
 * sync runs in libuv's thread pool (`fdatasync`), so the event loop serves other requests while the
 * disk works, and the requests that wait at the same time share one sync. Writes nobody waits for
 * (housekeeping, the mail worker) become durable with the next sync or SQLite's next checkpoint,
 * which syncs the log and the database itself.
 *
 * A request waits for every write committed before it asks, its own or another request's: no answer
 * is ever based on something a power loss could take back (another request's approval, a consumed
 * code). The wait is short: at most the sync under way and the next one.
 */
export class GroupCommit {
  private committed = 0;
  private synced = 0;
  /** The sync under way: what it covers and who waits for it. */
  private current: { covers: number; waiters: Waiter[] } | undefined;
  /** Who waits for the next sync (their writes came after the current one started). */
  private next: Waiter[] = [];
  private draining: Promise<void> | undefined;
  /** Set by a failed sync: from then on nothing is answered as durable (see drain). */
  private failure: Error | undefined;

  constructor(private readonly sync: () => Promise<void>) {}

  /** A write transaction has ended (a COMMIT, or a write outside BEGIN … COMMIT). */
  committedWrite(): void {
    this.committed += 1;
  }

  /** Resolves once every write committed so far is on disk; rejects if the sync that was to cover it failed. */
  durable(): Promise<void> {
    if (this.synced >= this.committed) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.current && this.current.covers >= this.committed) this.current.waiters.push(waiter);
      else this.next.push(waiter);
      if (!this.current) this.draining = this.drain();
    });
  }

  /** Waits for the syncs under way and their waiters (closing the database). */
  async settle(): Promise<void> {
    await this.draining;
  }

  // One sync at a time; whoever's writes came after a sync started waits for the next one, which
  // starts as soon as that one ends and covers everything committed by then.
  private async drain(): Promise<void> {
    while (this.next.length > 0) {
      const current = { covers: this.committed, waiters: this.next };
      this.next = [];
      this.current = current;
      try {
        await this.sync();
        syncs.inc();
        this.synced = Math.max(this.synced, current.covers);
        for (const waiter of current.waiters) waiter.resolve();
      } catch (error) {
        // Never retried: after a failed fsync the kernel may have dropped the log's dirty pages, and
        // a later fsync that succeeds does not bring them back. Nor does it make later commits
        // durable: SQLite's recovery reads the log up to its first frame that is not on disk and
        // drops every frame after it. So this process answers 503 from now on (the code below is
        // one unavailable.ts knows; /readyz and /healthz fail too), until it is restarted and
        // SQLite recovers what the disk holds, as PostgreSQL does after a failed fsync.
        this.failure = Object.assign(new Error('Syncing the SQLite write-ahead log to disk failed: nothing written since can be known to be on disk. Restart Sesame.', { cause: error }), { code: 'SQLITE_IOERR_FSYNC' });
        for (const waiter of [...current.waiters, ...this.next]) waiter.reject(this.failure);
        this.next = [];
      }
    }
    this.current = undefined;
  }
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `fdatasync` of the database's write-ahead log, in the thread pool. The file is opened once: SQLite
 * keeps it (and its inode) while this process holds a connection, truncating or rewriting it in
 * place after checkpoints. It exists from the connection's first read in WAL mode, so before any
 * write to sync.
 */
export function walSync(walFile: string): { sync: () => Promise<void>; close: () => Promise<void> } {
  let handle: fs.FileHandle | undefined;
  let closed = false;
  return {
    async sync() {
      // A request that outlived the shutdown's timeout must not open the log again once it is closed.
      if (closed) throw Object.assign(new Error('The database is closed.'), { code: 'SQLITE_MISUSE' });
      if (!handle) {
        // No `-wal` file beside the database while writes wait means the log lives elsewhere (a
        // symbolic link resolved differently): refused, never counted as a sync that found nothing.
        handle = await fs.open(walFile, 'r');
      }
      await handle.datasync();
    },
    async close() {
      closed = true;
      await handle?.close();
      handle = undefined;
    },
  };
}

const groupCommits = new WeakMap<Kysely<Schema>, GroupCommit>();

export function attachGroupCommit(db: Kysely<Schema>, groupCommit: GroupCommit): void {
  groupCommits.set(db, groupCommit);
}

/**
 * Resolves once every write to `db` committed so far is durable. Every answer waits for it before it
 * is sent (app.ts for Sesame's routes, write-batch.ts for oidc-provider's). Immediate where each
 * commit is durable by itself: PostgreSQL, and SQLite outside the server (the CLI syncs in COMMIT).
 */
export function whenDurable(db: Kysely<Schema>): Promise<void> {
  return groupCommits.get(db)?.durable() ?? Promise.resolve();
}
