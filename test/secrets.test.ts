import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import webpush from 'web-push';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, POSTGRES_URL, startTestServer, type DbKind, type TestServer } from './support/server.js';
import { UserAgent, parseFormPost } from './support/user-agent.js';
import { authorizeUrl, createClient, exchangeCode, finishAtRp, openSignInPage, RP_REDIRECT, signUp, verifyIdToken } from './support/flow.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { buildMigrations } from '../src/storage/migrations.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { hashClientSecret } from '../src/secrets/client-secret.js';
import { DEMO_CLIENT_NAME, demoClientSecret, seedDemo } from '../src/demo-rp/seed.js';
import { randomId } from '../src/ids.js';
import type { Client } from '../src/storage/repositories/clients.js';

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const newKey = () => randomBytes(32).toString('base64');

/** Every row of every table, as text: strings as they are, binary columns as UTF-8, hex and base64. */
async function dumpDatabase(db: Kysely<any>, kind: DbKind): Promise<string> {
  const tables = kind === 'sqlite'
    ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db)).rows.map((r) => r.name);
  assert.ok(tables.includes('tenants') && tables.includes('settings'), `tables: ${tables.join(', ')}`);
  const parts: string[] = [];
  for (const table of tables) {
    for (const row of (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows) {
      for (const value of Object.values(row)) {
        if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64'));
        else if (value !== null) parts.push(String(value));
      }
    }
  }
  return parts.join('\n');
}

/** The secrets Sesame holds for `tenant`, read back through its services (so, decrypted). */
async function heldSecrets(server: TestServer, tenant: string): Promise<Record<string, string>> {
  const { cookieKeys, webhookSecret } = await server.services.tenants.requireTenant(tenant);
  const { keys } = await server.services.signingKeys.keySet(tenant);
  const secrets: Record<string, string> = { vapid: (await server.services.push.vapidKeys()).privateKey };
  cookieKeys.forEach((key, i) => { secrets[`cookie key ${i}`] = key; });
  if (webhookSecret) secrets['webhook secret'] = webhookSecret;
  keys.forEach((jwk, i) => { for (const member of PRIVATE_JWK_MEMBERS) secrets[`signing key ${i}.${member}`] = String(jwk[member]); });
  return secrets;
}

function assertNoneInClear(dump: string, secrets: Record<string, string>): void {
  assert.ok(Object.keys(secrets).length >= 5);
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(value.length >= 16, `${name} is a real secret`);
    assert.ok(!dump.includes(value), `${name} is stored in the clear`);
  }
}

/** A Kysely on the same database a test server uses (SQLite file in dataDir, or a PostgreSQL schema). */
function openRaw(kind: DbKind, where: string): Kysely<any> {
  if (kind === 'sqlite') return new Kysely({ dialect: new SqliteDialect({ database: new SqliteDatabase(path.join(where, 'sesame.db')) }) });
  return new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: POSTGRES_URL, options: `-c search_path=${where}`, max: 2 }) }) });
}

async function withPg(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

for (const kind of await databases()) {
  describe(`secrets at rest (${kind})`, () => {
    test('after start-up and client creation, no secret is anywhere in the database in the clear', async () => {
      const server = await startTestServer(kind);
      try {
        const client = await createClient(server);
        const jwtClient = await server.services.tenants.createClient({ tenantId: 'demo', redirectUris: [RP_REDIRECT], authMethod: 'client_secret_jwt' });
        await server.services.tenants.setWebhook('demo', 'https://hooks.example.com/sesame');
        const demoClient = (await server.services.tenants.listClients('demo')).find((c) => c.name === DEMO_CLIENT_NAME)!;
        const secrets = {
          ...await heldSecrets(server, 'demo'),
          'client secret': client.clientSecret,
          'client_secret_jwt secret': jwtClient.clientSecret,
          'demo client secret': demoClientSecret(server.services.database.secrets, demoClient.clientId),
        };
        const raw = server.services.database.db as Kysely<any>;
        const dump = await dumpDatabase(raw, kind);
        assert.ok(dump.includes('enc:v1:'), 'sealed values are in the dump');
        assert.ok(dump.includes(hashClientSecret(client.clientSecret)), 'the client secret hash is in the dump');
        assertNoneInClear(dump, secrets);
        if (kind === 'sqlite') {
          // The file itself (with its write-ahead log), in case a value lives somewhere a query does not show.
          const { dataDir } = server.services.config;
          const bytes = ['sesame.db', 'sesame.db-wal'].filter((f) => fs.existsSync(path.join(dataDir, f)))
            .map((f) => fs.readFileSync(path.join(dataDir, f)).toString('latin1')).join('');
          assertNoneInClear(bytes, secrets);
          // No SESAME_SECRET_KEY: the key was generated into DATA_DIR, readable by its owner only.
          assert.equal(fs.statSync(path.join(dataDir, 'secret.key')).mode & 0o777, 0o600);
        }
      } finally {
        await server.close();
      }
    });

    test('a database written by the old code is converted on start and keeps working; a wrong key is refused', async () => {
      const where = kind === 'sqlite' ? fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-old-')) : `t_old_${randomId(4).toLowerCase().replace(/[^a-z0-9]/g, '')}_${Date.now()}`;
      if (kind === 'postgres') await withPg(`create schema ${where}`);
      const secretKey = newKey();
      const env = { SESAME_SECRET_KEY: secretKey, ...(kind === 'sqlite' ? { DATA_DIR: where } : {}) };
      const options = kind === 'postgres' ? { pgSchema: where, env } : { env };
      try {
        // The database as the code before this change left it: its migrations only, every secret in the clear.
        const old = openRaw(kind, where);
        const oldMigrations = buildMigrations({ secrets: new SecretBox(randomBytes(32)) });
        const migrator = new Migrator({
          db: old,
          provider: { getMigrations: async () => ({ '0001_foundation': oldMigrations['0001_foundation'], '0002_crossdevice': oldMigrations['0002_crossdevice'] }) },
          migrationTableName: 'sesame_migrations',
          migrationLockTableName: 'sesame_migrations_lock',
          ...(kind === 'postgres' ? { migrationTableSchema: where } : {}),
        });
        assert.equal((await migrator.migrateToLatest()).error, undefined);
        const now = Date.now();
        const legacy = { cookieKey: randomId(32), webhookSecret: randomId(32), clientSecret: randomId(32), clientId: randomId(16), vapid: webpush.generateVAPIDKeys() };
        const { privateKey } = await generateKeyPair('RS256', { extractable: true });
        const jwk = await exportJWK(privateKey);
        const kid = await calculateJwkThumbprint(jwk);
        await old.insertInto('tenants').values({ id: 'legacy', name: 'Legacy', cookie_keys: JSON.stringify([legacy.cookieKey]), created_at: now, webhook_url: 'https://hooks.example.com/legacy', webhook_secret: legacy.webhookSecret }).execute();
        await old.insertInto('signing_keys').values({ tenant_id: 'legacy', kid, alg: 'RS256', private_jwk: JSON.stringify({ ...jwk, kid, alg: 'RS256', use: 'sig' }), created_at: now, activates_at: now }).execute();
        await old.insertInto('clients').values({ tenant_id: 'legacy', client_id: legacy.clientId, client_secret: legacy.clientSecret, name: 'Old RP', redirect_uris: JSON.stringify([RP_REDIRECT]), post_logout_redirect_uris: '[]', require_pkce: 0, created_at: now }).execute();
        await old.insertInto('settings').values({ name: 'vapid_keys', value: JSON.stringify(legacy.vapid) }).execute();
        await old.destroy();

        const server = await startTestServer(kind, options);
        try {
          const held = await heldSecrets(server, 'legacy');
          assert.equal(held['cookie key 0'], legacy.cookieKey);
          assert.equal(held['webhook secret'], legacy.webhookSecret);
          assert.equal(held.vapid, legacy.vapid.privateKey);
          assert.equal(held['signing key 0.d'], jwk.d);
          assertNoneInClear(await dumpDatabase(server.services.database.db as Kysely<any>, kind), { ...held, 'client secret': legacy.clientSecret });

          // Sign-in with the old client and its old secret; the old key still signs.
          const client = { clientId: legacy.clientId, clientSecret: legacy.clientSecret } as Client;
          const ua = new UserAgent(server.origin);
          const { base } = await openSignInPage(ua, authorizeUrl(server, client, {}, 'legacy'));
          const { params } = await finishAtRp(ua, await signUp(ua, new SoftwareAuthenticator(), base, 'old@example.com', 'Old Timer'));
          const tokens = await exchangeCode(server, client, params.code, { tenant: 'legacy' });
          assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
          assert.equal(decodeProtectedHeader(tokens.body.id_token).kid, kid);
          assert.equal((await verifyIdToken(server, client, tokens.body.id_token, 'legacy')).email, 'old@example.com');
        } finally {
          await server.close();
        }

        const wrongKey = loadConfig({ ...env, SESAME_SECRET_KEY: newKey(), PORT: '0', LOG_LEVEL: 'silent', DATABASE_URL: kind === 'postgres' ? POSTGRES_URL : '' });
        await assert.rejects(startServer(wrongKey, { pgSchema: kind === 'postgres' ? where : undefined }),
          /The secrets in this database were encrypted with secret key "[\w-]{8}", but the configured key is "[\w-]{8}"\. Start Sesame with the SESAME_SECRET_KEY/);

        // A second start with the right key (the conversion ran once) still works.
        const again = await startTestServer(kind, options);
        try {
          assert.equal((await heldSecrets(again, 'legacy'))['webhook secret'], legacy.webhookSecret);
        } finally {
          await again.close();
        }
      } finally {
        if (kind === 'sqlite') fs.rmSync(where, { recursive: true, force: true });
        else await withPg(`drop schema if exists ${where} cascade`);
      }
    });

    test('the demo RP signs in with its derived secret, also after a converted database left it another one', async () => {
      const server = await startTestServer(kind);
      try {
        const [demo] = (await server.services.tenants.listClients('demo')).filter((c) => c.name === DEMO_CLIENT_NAME);
        // As after the conversion of an old database: the demo client's random secret, now hashed.
        await server.services.clients.setSecretHash('demo', demo.clientId, hashClientSecret(randomId(32)));
        await seedDemo(server.services.tenants, server.url, server.services.database.secrets);

        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, `${server.origin}/demo-rp/login`);
        const formPage = await ua.follow(await signUp(ua, new SoftwareAuthenticator(), base, 'demo@example.com', 'Demo User'));
        const form = parseFormPost(formPage.text);
        assert.equal(form.action, `${server.origin}/demo-rp/callback`);
        const result = await ua.request(form.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form.fields) });
        assert.equal(result.status, 200, result.text.slice(0, 500));
        assert.match(result.text, /demo@example\.com/);
      } finally {
        await server.close();
      }
    });
  });
}

describe('SecretBox', () => {
  test('a sealed value opens only with its key, in its place, unaltered', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('the secret', 'tenants.webhook_secret:a');
    assert.match(sealed, /^enc:v1:[\w-]{8}:[\w-]+$/);
    assert.ok(!sealed.includes('the secret'));
    assert.notEqual(box.seal('the secret', 'tenants.webhook_secret:a'), sealed, 'a fresh IV each time');
    assert.equal(box.open(sealed, 'tenants.webhook_secret:a'), 'the secret');
    assert.throws(() => box.open(sealed, 'tenants.webhook_secret:b'), /does not decrypt .*altered or belongs elsewhere/);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('AA') ? 'BB' : 'AA');
    assert.throws(() => box.open(tampered, 'tenants.webhook_secret:a'), /altered or belongs elsewhere/);
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'tenants.webhook_secret:a'), /were encrypted with secret key/);
  });
});

describe('SESAME_SECRET_KEY', () => {
  const dirs: string[] = [];
  after(() => { for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true }); });

  test('is read as base64 or base64url, and a malformed one is refused without repeating it', () => {
    const key = randomBytes(32);
    assert.deepEqual(loadConfig({ SESAME_SECRET_KEY: key.toString('base64') }).secretKey, key);
    assert.deepEqual(loadConfig({ SESAME_SECRET_KEY: key.toString('base64url') }).secretKey, key);
    for (const bad of [randomBytes(16).toString('base64'), `${key.toString('base64')}xyz`, 'not a key at all, but quite long enough', '*'.repeat(44)]) {
      assert.throws(() => loadConfig({ SESAME_SECRET_KEY: bad }), (error: Error) => {
        assert.match(error.message, /SESAME_SECRET_KEY must be 32 random bytes written in base64 or base64url/);
        assert.ok(!error.message.includes(bad));
        return true;
      });
    }
  });

  test('is required with an https PUBLIC_URL', () => {
    assert.throws(() => loadConfig({ PUBLIC_URL: 'https://id.example.com' }), /SESAME_SECRET_KEY is not set\. With an https PUBLIC_URL \(production\)/);
    assert.ok(loadConfig({ PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: newKey() }).secretKey);
  });

  test('without it, on a laptop, the key file under DATA_DIR is created once and reused', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-key-'));
    dirs.push(dataDir);
    const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', SESAME_DEMO: 'false' });
    const first = await startServer(config);
    await first.services.tenants.createTenant('laptop', 'Laptop');
    await first.close();
    const keyFile = path.join(dataDir, 'secret.key');
    const written = fs.readFileSync(keyFile, 'utf8');
    const second = await startServer(config);
    try {
      assert.equal(fs.readFileSync(keyFile, 'utf8'), written, 'the same key on the next start');
      assert.equal((await second.services.tenants.requireTenant('laptop')).cookieKeys.length, 1);
    } finally {
      await second.close();
    }
    fs.writeFileSync(keyFile, 'garbage\n');
    await assert.rejects(startServer(config), new RegExp(`The key file ${keyFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} must be 32 random bytes`));
  });
});
