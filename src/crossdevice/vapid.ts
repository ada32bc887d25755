import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { sealedColumn } from '../secrets/sealed-columns.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

const SETTING = 'vapid_keys';

/**
 * The server's VAPID key pair (RFC 8292), generated once and kept in the database (encrypted) so
 * every node and every restart signs pushes with the same key (browsers bind a subscription to it).
 */
export async function loadOrCreateVapidKeys(db: Kysely<Schema>, secrets: SecretBox): Promise<VapidKeys> {
  const read = (value: string) => JSON.parse(secrets.open(value, sealedColumn.setting(SETTING))) as VapidKeys;
  const existing = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
  if (existing) return read(existing.value);
  const { default: webpush } = await import('web-push');
  const keys = webpush.generateVAPIDKeys();
  await db.insertInto('settings').values({ name: SETTING, value: secrets.seal(JSON.stringify(keys), sealedColumn.setting(SETTING)) })
    .onConflict((oc) => oc.column('name').doNothing()).execute();
  // Another node may have won the race: use whatever is stored.
  const stored = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirstOrThrow();
  return read(stored.value);
}
