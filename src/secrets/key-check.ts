import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { SecretBox } from './secret-box.js';
import { sealedColumn } from './sealed-columns.js';

const SETTING = 'secret_key_check';
const CHECK_VALUE = 'sesame';

/**
 * Binds a database to the first key it is started with (`bind`), and refuses any other key with a
 * clear message instead of failing later, at the first secret a request needs. Checked before the
 * migrations as well, so that a wrong key never seals anything. Another node starting at the same
 * moment either wins the insert or is checked against the winner.
 */
export async function checkSecretKey(db: Kysely<Schema>, secrets: SecretBox, { bind, pgSchema }: { bind: boolean; pgSchema?: string }): Promise<void> {
  if (bind) {
    await db.insertInto('settings').values({ name: SETTING, value: secrets.seal(CHECK_VALUE, sealedColumn.setting(SETTING)) })
      .onConflict((oc) => oc.column('name').doNothing()).execute();
  } else if (!(await db.introspection.getTables()).some((t) => t.name === 'settings' && (pgSchema === undefined || t.schema === pgSchema))) {
    // A new database: nothing to check yet.
    return;
  }
  const stored = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
  if (stored && secrets.open(stored.value, sealedColumn.setting(SETTING)) !== CHECK_VALUE) {
    throw new Error('The secret key check stored in the database has an unexpected value.');
  }
}
