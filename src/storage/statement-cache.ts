import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';

/** Distinct SQL texts kept prepared; Sesame runs a few hundred, a sign-in about twenty. */
const DEFAULT_CAPACITY = 256;

/**
 * What Kysely's SQLite driver is given instead of the better-sqlite3 database: the same, except
 * that a ROLLBACK is skipped when SQLite has rolled back already, and `prepare` answers from a cache of statements by SQL text (least recently used dropped
 * beyond `capacity`). Kysely prepares every statement it runs, and compiling the SQL each time was
 * about 5 % of a sign-in's CPU. Sharing a statement is safe here: the driver holds SQLite's one
 * connection until a statement has finished (`all`/`run`, or the whole `iterate` of a stream), it
 * only reads `reader`, and nothing else is given these statements to switch their raw, pluck or
 * expand modes. A statement whose table changed shape is recompiled by SQLite itself.
 */
export function cachingStatements(sqlite: SqliteDatabase.Database, options: { capacity?: number; onCommit?: () => void } = {}): KyselySqliteDatabase {
  const { capacity = DEFAULT_CAPACITY, onCommit } = options;
  const statements = new Map<string, CachedStatement>();
  const rollback = sqlite.prepare('rollback');
  // A write that fails with SQLITE_FULL, IOERR, BUSY or NOMEM inside a transaction makes SQLite
  // roll the transaction back itself; Kysely's ROLLBACK after it would then fail ("no transaction
  // is active") and be thrown in place of the real error (a full disk answered 500, not 503).
  const rollbackIfOpen = {
    reader: false,
    run: () => (sqlite.inTransaction ? rollback.run() : { changes: 0, lastInsertRowid: 0 }),
    all: () => [],
    iterate: () => [][Symbol.iterator](),
  };
  return {
    prepare(sql: string) {
      if (sql === 'rollback') return rollbackIfOpen;
      let statement = statements.get(sql);
      if (statement) {
        // Map keeps insertion order: moving the text to the end makes the first one the least recently used.
        statements.delete(sql);
      } else {
        statement = onCommit ? reportingCommits(sqlite, sqlite.prepare(sql), onCommit) : sqlite.prepare(sql);
        if (statements.size >= capacity) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
    close() {
      statements.clear();
      sqlite.close();
    },
  };
}

type CachedStatement = Pick<SqliteDatabase.Statement, 'reader' | 'run' | 'all' | 'iterate'>;

/**
 * The statement, telling `onCommit` each time a write transaction has ended: a COMMIT (or a
 * ROLLBACK: nothing to sync then, but harmless), or a write outside BEGIN … COMMIT. Group commit
 * (group-commit.ts) counts them to know what a sync of the log covers.
 */
function reportingCommits(sqlite: SqliteDatabase.Database, statement: SqliteDatabase.Statement, onCommit: () => void): CachedStatement {
  const ended = (wasInTransaction: boolean) => {
    if (!sqlite.inTransaction && (wasInTransaction || !statement.readonly)) onCommit();
  };
  return {
    reader: statement.reader,
    run(...params: unknown[]) {
      const wasInTransaction = sqlite.inTransaction;
      const result = statement.run(...params);
      ended(wasInTransaction);
      return result;
    },
    all(...params: unknown[]) {
      const wasInTransaction = sqlite.inTransaction;
      const rows = statement.all(...params);
      ended(wasInTransaction);
      return rows;
    },
    iterate: (...params: unknown[]) => statement.iterate(...params),
  } as CachedStatement;
}
