import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases } from './support/server.js';
import { pgSchema, spawnServer, stopServer, type ChildServer } from './support/child-server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, finishAtRp, openSignInPage, RP_REDIRECT, signIn, signUp } from './support/flow.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/storage/db.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { registerMailbox } from './support/mailbox.js';
import { randomBytes } from 'node:crypto';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * The process is killed (SIGKILL: no shutdown code runs) while sign-ups are in flight. After a
 * restart every sign-up that was acknowledged must be there and usable, and no sign-up may be
 * half there (an account without its passkey, or a passkey without its account).
 */
for (const kind of await databases()) {
  describe(`killed during sign-ups (${kind})`, () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

    test('acknowledged sign-ups survive and nothing is half-written', { timeout: 60_000 }, async () => {
      // The child server and this test's own connection share the database and its secret key.
      const env: Record<string, string> = { SESAME_SECRET_KEY: randomBytes(32).toString('base64url') };
      // The data folder holds the SQLite file, or (on PostgreSQL) only the dev outbox the mailed codes land in.
      env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-faults-'));
      cleanups.push(() => fs.rmSync(env.DATA_DIR, { recursive: true, force: true }));
      if (kind === 'postgres') {
        const { databaseUrl, drop } = await pgSchema();
        env.DATABASE_URL = databaseUrl;
        cleanups.push(drop);
      }
      let server: ChildServer = await spawnServer(env);
      cleanups.push(() => stopServer(server));
      const inspect = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, secrets: new SecretBox(Buffer.from(env.SESAME_SECRET_KEY, 'base64url')) });
      cleanups.push(() => inspect.close());
      const config = loadConfig({ ...env, PUBLIC_URL: server.origin, LOG_LEVEL: 'silent' });
      const services = createServices(config, inspect, createLogger('silent'));
      // Sign-ups read their e-mail code from the child's outbox, through this test's view of the database.
      registerMailbox(server.origin, services);
      const client: Client = await services.tenants.createClient({ tenantId: 'demo', name: 'Durability RP', redirectUris: [RP_REDIRECT] });

      const acknowledged: Array<{ email: string; authenticator: SoftwareAuthenticator }> = [];
      const worker = async (w: number) => {
        for (let i = 0; ; i += 1) {
          const email = `kill-${w}-${i}@example.com`;
          const authenticator = new SoftwareAuthenticator();
          try {
            const ua = new UserAgent(server.origin);
            const { base } = await openSignInPage(ua, authorizeUrl(server as never, client));
            await signUp(ua, authenticator, base, email, `Worker ${w}`);
          } catch {
            return; // the process is gone
          }
          acknowledged.push({ email, authenticator });
        }
      };
      const workers = Array.from({ length: 6 }, (_, w) => worker(w));
      while (acknowledged.length < 8) await new Promise((r) => setTimeout(r, 10));
      server.child.kill('SIGKILL');
      await Promise.all(workers);
      assert.equal((await server.exited).signal, 'SIGKILL');

      server = await spawnServer({ ...env }, { port: server.port });
      for (const { email, authenticator } of acknowledged) {
        const ua = new UserAgent(server.origin);
        const { base } = await openSignInPage(ua, authorizeUrl(server as never, client));
        const { params } = await finishAtRp(ua, await signIn(ua, authenticator, base, email));
        assert.ok(params.code, `${email} signs in after the restart`);
      }
      const orphans = await sql<{ n: number }>`
        select (select count(*) from users u where not exists (select 1 from credentials c where c.tenant_id = u.tenant_id and c.user_id = u.id))
             + (select count(*) from credentials c where not exists (select 1 from users u where u.tenant_id = c.tenant_id and u.id = c.user_id)) as n`.execute(inspect.db);
      assert.equal(Number(orphans.rows[0].n), 0, 'no account without its passkey and no passkey without its account');
    });
  });
}
