import webpush from 'web-push';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

const SETTING = 'vapid_keys';

/**
 * The server's VAPID key pair (RFC 8292), generated once and kept in the database so every node
 * and every restart signs pushes with the same key (browsers bind a subscription to it).
 */
export async function loadOrCreateVapidKeys(db: Kysely<Schema>): Promise<VapidKeys> {
  const existing = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
  if (existing) return JSON.parse(existing.value) as VapidKeys;
  const keys = webpush.generateVAPIDKeys();
  await db.insertInto('settings').values({ name: SETTING, value: JSON.stringify(keys) })
    .onConflict((oc) => oc.column('name').doNothing()).execute();
  // Another node may have won the race: use whatever is stored.
  const stored = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirstOrThrow();
  return JSON.parse(stored.value) as VapidKeys;
}
