import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { registerMailbox } from './support/mailbox.js';
import type { Database } from '../src/storage/db.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { PassportClient } from '../sdk/passport-client.js';
import { databases, freePort, POSTGRES_URL } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, exchangeCode, finishAtRp, openSignInPage, RP_REDIRECT, signUp, verifyIdToken } from './support/flow.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/storage/db.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { loadSecretKey } from '../src/secrets/secret-key.js';
import { createServices } from '../src/services.js';
import { createLogger } from '../src/log.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Two Sesame processes on one PostgreSQL, as behind a load balancer (same PUBLIC_URL). The desktop
 * waits on node A over SSE; the phone approves on node B; node A must be woken by NOTIFY.
 */
const hasPostgres = (await databases()).includes('postgres');

describe('two nodes on one PostgreSQL', { skip: !hasPostgres && 'PostgreSQL not reachable' }, () => {
  const schema = `t_nodes_${Date.now()}`;
  const nodes: ChildProcess[] = [];
  let portA: number;
  let portB: number;
  let publicUrl: string;
  let client: Client;

  // Shared by both nodes and this test: the secret key of the deployment, and a data folder for the dev outbox.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-nodes-'));
  const secretKey = randomBytes(32).toString('base64url');
  let database: Database;

  const databaseUrl = () => `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;

  const startNode = async (port: number) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: String(port), PUBLIC_URL: publicUrl, DATABASE_URL: databaseUrl(), DATA_DIR: dataDir, SESAME_SECRET_KEY: secretKey, LOG_LEVEL: 'warn', RATE_LIMIT_PER_IP: '10000', RATE_LIMIT_AUTH_PER_IP: '10000' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    nodes.push(child);
    for (let i = 0; i < 150; i += 1) {
      try {
        if ((await fetch(`http://localhost:${port}/readyz`)).ok) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`node on port ${port} did not start`);
  };

  before(async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    [portA, portB] = [await freePort(), await freePort()];
    publicUrl = `http://localhost:${portA}`;
    await startNode(portA);
    await startNode(portB);
    const config = loadConfig({ DATABASE_URL: databaseUrl(), PUBLIC_URL: publicUrl, LOG_LEVEL: 'silent', DATA_DIR: dataDir, SESAME_SECRET_KEY: secretKey });
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secrets: new SecretBox(loadSecretKey(config).key) });
    const services = createServices(config, database, createLogger('silent'));
    registerMailbox(publicUrl, services); // sign-up reads its e-mail code from the nodes' outbox
    client = await services.tenants.createClient({ tenantId: 'demo', name: 'Two-node RP', redirectUris: [RP_REDIRECT] });
  });

  after(async () => {
    await database?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    for (const node of nodes) node.kill('SIGTERM');
    await Promise.all(nodes.map((n) => new Promise((r) => (n.exitCode !== null ? r(null) : n.once('exit', r)))));
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  test('the desktop on node A is woken when the phone approves on node B', async () => {
    const server = { origin: publicUrl } as never;
    const phoneKey = new SoftwareAuthenticator();
    const signup = new UserAgent(publicUrl);
    const { base: signupBase } = await openSignInPage(signup, authorizeUrl(server, client));
    await finishAtRp(signup, await signUp(signup, phoneKey, signupBase, 'nodes@example.com', 'Two Nodes'));

    const desktop = new UserAgent(publicUrl);
    const { base } = await openSignInPage(desktop, authorizeUrl(server, client));
    const request = (await desktop.postJson(`${base}/crossdevice`, {})).json();
    const events = await fetch(`${base}/crossdevice/${request.id}/events`, { headers: { cookie: await desktop.jar.getCookieString(`${base}/crossdevice/`) } });
    const reader = events.body!.getReader();
    const statuses: string[] = [];
    const approvedSeen = (async () => {
      let text = '';
      while (!statuses.includes('approved')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
        statuses.splice(0, statuses.length, ...[...text.matchAll(/data: (\{.*\})/g)].map((m) => JSON.parse(m[1]).status));
      }
    })();

    // The phone talks to node B (same public URL, as behind a load balancer).
    const viaNodeB: typeof fetch = (url, init) => fetch(String(url).replace(`localhost:${portA}`, `localhost:${portB}`), init);
    const phone = new PassportClient(phoneKey, undefined, viaNodeB);
    const approvedAt = Date.now();
    await phone.approve(request.link, request.number);
    await approvedSeen;
    // Node A's SSE re-reads on its own only every 15 s; an answer well before that came from NOTIFY.
    assert.ok(Date.now() - approvedAt < 10_000, 'woken by LISTEN/NOTIFY, not by the periodic re-check');
    assert.deepEqual(statuses, ['pending', 'approved']);

    const done = await desktop.postJson(`${base}/crossdevice/${request.id}/complete`, {});
    assert.equal(done.status, 200, done.text);
    const { params } = await finishAtRp(desktop, done.json().redirectTo);
    const claims = await verifyIdToken(server, client, (await exchangeCode(server, client, params.code)).body.id_token);
    assert.equal(claims.email, 'nodes@example.com');
    assert.equal(claims.amr[0], 'mca');
  });
});
