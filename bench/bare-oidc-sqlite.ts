/**
 * The bare oidc-provider keeping its records as Sesame does (bench/bare-provider.ts): Sesame's SQL
 * adapter on its SQLite database in DATA_DIR, one write batch per request, every answer after the
 * group commit's sync. What Sesame costs above this is the passkey ceremony, the pages, rate limits,
 * the audit log and its own middleware — not durability.
 */
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../src/storage/db.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { SqlAdapter } from '../src/oidc/adapter.js';
import { ClientRepository } from '../src/storage/repositories/clients.js';
import { withWriteBatch } from '../src/storage/write-batch.js';
import { whenDurable } from '../src/storage/group-commit.js';
import { startBareProvider } from './bare-provider.js';

const database = await openDatabase({ dataDir: process.env.DATA_DIR!, secrets: new SecretBox(randomBytes(32)), groupCommit: true });
const clients = new ClientRepository(database.db, database.secrets);
startBareProvider({
  adapter: (model: string) => new SqlAdapter(database.db, clients, 'bare', model),
  aroundRequest: (next) => withWriteBatch(database.db, next),
  beforeAnswer: () => whenDurable(database.db),
  close: () => database.close(),
});
