/**
 * True when a write broke a foreign key: the row it refers to was deleted meanwhile by another
 * request (PostgreSQL SQLSTATE 23503; SQLite's extended code). A check made before the write cannot
 * rule that out; the write itself is the check.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
