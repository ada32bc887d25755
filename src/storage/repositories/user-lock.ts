import { PostgresAdapter, type Transaction } from 'kysely';
import type { Schema } from '../schema.js';

/**
 * Locks a user's row until the end of the transaction, so that a rule counted over the user's rows
 * (their passkeys, their recent pushes) is checked and applied by one transaction at a time, on
 * every node. Answers whether the user exists.
 *
 * PostgreSQL: FOR NO KEY UPDATE, which still lets other transactions insert rows that reference the
 * user (their foreign-key checks take FOR KEY SHARE). SQLite has no row locks and needs none: there
 * is one connection, and Kysely holds it for a whole transaction, so transactions never interleave.
 */
export async function lockUser(trx: Transaction<Schema>, tenantId: string, userId: string): Promise<boolean> {
  const query = trx.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', userId);
  const postgres = trx.getExecutor().adapter instanceof PostgresAdapter;
  return (await (postgres ? query.forNoKeyUpdate() : query).executeTakeFirst()) !== undefined;
}
