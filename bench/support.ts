import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/storage/db.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { loadSecretKey } from '../src/secrets/secret-key.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import { UserRepository } from '../src/storage/repositories/users.js';
import { CredentialRepository } from '../src/storage/repositories/credentials.js';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { RP_REDIRECT } from '../test/support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

export const TENANT = 'demo';

export interface BenchUser {
  email: string;
  authenticator: SoftwareAuthenticator;
}

/** The server's database, opened from the load generator to set the stage (as the CLI would). */
export async function openBenchDatabase(dataDir: string, databaseUrl: string | undefined, pgSchema: string | undefined): Promise<Database> {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pgSchema, secrets: new SecretBox(loadSecretKey(config).key) });
}

export function createBenchClient(database: Database, dataDir: string): Promise<Client> {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  return createServices(config, database, createLogger('silent')).tenants.createClient({ tenantId: TENANT, name: 'Bench RP', redirectUris: [RP_REDIRECT] });
}

/**
 * Users who sign in during the run: each with a passkey on its own software authenticator, stored
 * through the repositories as a registration would store it (sign-up itself, with its mailed code,
 * is not what is measured).
 */
export async function seedActiveUsers(database: Database, count: number, rpId: string): Promise<{ users: BenchUser[]; publicKey: Uint8Array }> {
  const users: BenchUser[] = [];
  const userRepository = new UserRepository(database.db);
  const credentialRepository = new CredentialRepository(database.db);
  let publicKey: Uint8Array = new Uint8Array();
  const now = Date.now();
  for (let i = 0; i < count; i += 1) {
    const id = `bench-user-${i}`;
    const email = `bench${i}@example.com`;
    const { privateKey, publicKey: ecPublic } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = ecPublic.export({ format: 'jwk' });
    publicKey = encodeCBOR(new Map<number, CBORType>([
      [1, 2], [3, -7], [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]));
    const credentialId = Buffer.from(`bench-credential-${i}`).toString('base64url');
    await userRepository.insert({ tenantId: TENANT, id, email, emailVerified: true, displayName: `Bench ${i}`, createdAt: now });
    await credentialRepository.insert({
      tenantId: TENANT, id: credentialId, userId: id, publicKey, signCount: 0, transports: ['internal'], aaguid: '00000000-0000-0000-0000-000000000000',
      deviceType: 'singleDevice', backedUp: false, attestationFormat: 'none', userVerified: true, createdAt: now, lastUsedAt: null, name: null,
    });
    const authenticator = new SoftwareAuthenticator();
    authenticator.credentials.set(credentialId, { id: credentialId, rpId, userHandle: Buffer.from(id).toString('base64url'), privateKey, signCount: 0 });
    users.push({ email, authenticator });
  }
  return { users, publicKey };
}

/**
 * Accounts nobody signs in to, numbered from `from` to `to - 1`, each with one passkey: one
 * INSERT … SELECT per table in one transaction (a recursive CTE on SQLite, generate_series on
 * PostgreSQL), so a million take seconds.
 */
export async function seedFillerUsers(database: Database, from: number, to: number, publicKey: Uint8Array): Promise<void> {
  if (to <= from) return;
  // PostgreSQL types a parameter in a SELECT list as text unless told.
  const typed = (value: unknown, type: string) => database.dialect === 'postgres' ? sql`cast(${value} as ${sql.raw(type)})` : sql`${value}`;
  const now = typed(Date.now(), 'bigint');
  const numbers = database.dialect === 'sqlite'
    ? sql`with recursive seq(n) as (select ${from} union all select n + 1 from seq where n < ${to - 1})`
    : sql`with seq(n) as (select generate_series(${from}::int, ${to - 1}::int))`;
  await database.db.transaction().execute(async (trx) => {
    await sql`${numbers} insert into users (tenant_id, id, email, email_verified, display_name, created_at)
      select ${TENANT}, 'filler-user-' || n, 'filler' || n || '@example.com', 1, 'Filler ' || n, ${now} from seq`.execute(trx);
    await sql`${numbers} insert into credentials (tenant_id, id, user_id, public_key, sign_count, transports, aaguid, device_type, backed_up, attestation_format, user_verified, created_at)
      select ${TENANT}, 'filler-credential-' || n, 'filler-user-' || n, ${typed(Buffer.from(publicKey), 'bytea')}, 0, '["internal"]', '00000000-0000-0000-0000-000000000000', 'singleDevice', 0, 'none', 1, ${now} from seq`.execute(trx);
  });
}
