import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { databases, freePort, POSTGRES_URL, startTestServer } from './support/server.js';
import { RP_REDIRECT } from './support/flow.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startServer, type RunningServer } from '../src/server.js';
import { CACHE_CHANNEL } from '../src/storage/read-cache.js';

/**
 * Tenants and clients are cached in memory (src/storage/read-cache.ts). These tests read through
 * the cache first, so that a change can only be seen if the cache forgot what it kept.
 */

const theme = async (origin: string) => (await fetch(`${origin}/demo/branding/theme.css`)).text();

/** A bogus code: the token endpoint authenticates the client first (401 invalid_client), then refuses the code (400 invalid_grant). */
async function tokenError(origin: string, clientId: string, clientSecret: string): Promise<string> {
  const response = await fetch(`${origin}/demo/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: RP_REDIRECT, client_id: clientId, client_secret: clientSecret }),
  });
  return ((await response.json()) as { error: string }).error;
}

/** Resolves once the node has been told that `key` changed (its cache listened first, so it has forgotten it by then). */
function announced(node: RunningServer, key: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = node.services.database.pubsub.subscribe(CACHE_CHANNEL, (changed) => {
      if (changed !== key) return;
      stop();
      resolve();
    });
  });
}

for (const db of await databases()) {
  describe(`cached tenants and clients (${db})`, () => {
    test('a change made through the services is seen at once', async () => {
      const server = await startTestServer(db);
      try {
        assert.doesNotMatch(await theme(server.origin), /#0f766e/);
        await server.services.tenants.setBrandColour('demo', '#0f766e');
        assert.match(await theme(server.origin), /#0f766e/);

        const client = await server.services.tenants.createClient({ tenantId: 'demo', redirectUris: [RP_REDIRECT] });
        assert.equal(await tokenError(server.origin, client.clientId, client.clientSecret), 'invalid_grant', 'a new client works at once');
        const secret = randomBytes(24).toString('base64url');
        await server.services.tenants.setClientSecret(client, secret);
        assert.equal(await tokenError(server.origin, client.clientId, client.clientSecret), 'invalid_client', 'the old secret is refused');
        assert.equal(await tokenError(server.origin, client.clientId, secret), 'invalid_grant', 'the new secret is accepted');
      } finally {
        await server.close();
      }
    });
  });
}

describe('cached tenants on SQLite', () => {
  test('a change committed by another process (the CLI) is seen at once', async () => {
    const server = await startTestServer('sqlite');
    try {
      assert.doesNotMatch(await theme(server.origin), /#123456/);
      const other = new SqliteDatabase(path.join(server.services.config.dataDir, 'sesame.db'));
      try {
        other.prepare("update tenants set brand_colour = '#123456' where id = 'demo'").run();
      } finally {
        other.close();
      }
      assert.match(await theme(server.origin), /#123456/);
    } finally {
      await server.close();
    }
  });
});

const hasPostgres = (await databases()).includes('postgres');

describe('cached tenants and clients on two nodes', { skip: !hasPostgres && 'PostgreSQL not reachable' }, () => {
  test('a change on one node is seen by the other once notified, not after the cache expires', async () => {
    const secretKey = randomBytes(32).toString('base64url');
    const first = await startTestServer('postgres', { env: { SESAME_SECRET_KEY: secretKey } });
    const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(first.services.database.db)).rows[0].schema;
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-test-'));
    const config = loadConfig({ PORT: String(port), PUBLIC_URL: `http://localhost:${port}`, DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: POSTGRES_URL, SESAME_SECRET_KEY: secretKey });
    let second: RunningServer | undefined;
    try {
      second = await startServer(config, { logger: createLogger('silent'), pgSchema: schema });
      const secondOrigin = `http://localhost:${port}`;

      assert.doesNotMatch(await theme(secondOrigin), /#0f766e/);
      const themeChanged = announced(second, 'tenant:demo');
      await first.services.tenants.setBrandColour('demo', '#0f766e');
      await themeChanged;
      assert.match(await theme(secondOrigin), /#0f766e/);

      const client = await first.services.tenants.createClient({ tenantId: 'demo', redirectUris: [RP_REDIRECT] });
      assert.equal(await tokenError(secondOrigin, client.clientId, client.clientSecret), 'invalid_grant', 'a client created on the first node works on the second at once');
      const secret = randomBytes(24).toString('base64url');
      const secretChanged = announced(second, `client:demo:${client.clientId}`);
      await first.services.tenants.setClientSecret(client, secret);
      await secretChanged;
      assert.equal(await tokenError(secondOrigin, client.clientId, client.clientSecret), 'invalid_client', 'the old secret is refused');
      assert.equal(await tokenError(secondOrigin, client.clientId, secret), 'invalid_grant', 'the new secret is accepted');
    } finally {
      await second?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      await first.close();
    }
  });
});
