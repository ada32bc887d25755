/**
 * `npm run bench [-- --quick]`: end-to-end passkey sign-ins per second.
 *
 * Starts Sesame in its own process on a fresh SQLite database, registers users, then drives
 * complete sign-ins from this process (authorize → sign-in page → passkey assertion from the
 * software authenticator → code → token → ID token verified against the JWKS). In the same run it
 * times the crypto floor of one sign-in (ES256 assertion verification + RS256 ID-token signature +
 * hashing) and reads the server's CPU time from /proc, and prints
 * `ratio=<server CPU per sign-in / floor> signins_per_s=<n> p99_ms=<n> rss_mb=<n>`.
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server process there (open it in Chrome DevTools).
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, importJWK, exportJWK } from 'jose';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { UserAgent } from '../test/support/user-agent.js';
import { freePort } from '../test/support/server.js';
import { authorizeUrl, exchangeCode, finishAtRp, openSignInPage, signIn, signUp, verifyIdToken } from '../test/support/flow.js';

const quick = process.argv.includes('--quick');
const USERS = quick ? 16 : 64;
const CONCURRENCY = quick ? 8 : 16;
const DURATION_MS = quick ? 15_000 : 60_000;

async function main() {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-bench-'));
  const origin = `http://localhost:${port}`;
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: String(port), PUBLIC_URL: origin, DATA_DIR: dataDir, LOG_LEVEL: 'silent', SESAME_DEMO: 'true', DATABASE_URL: '', RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_ACCOUNT: '1000000', RATE_LIMIT_AUTH_PER_IP: '1000000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await waitForReady(origin);
    const server = { origin, port } as never;
    const { TestClientFactory } = await import('./support.js');
    const client = await TestClientFactory.create(dataDir);

    // Register users (not timed).
    const users: Array<{ email: string; authenticator: SoftwareAuthenticator }> = [];
    for (let i = 0; i < USERS; i += 1) {
      const authenticator = new SoftwareAuthenticator();
      const ua = new UserAgent(origin);
      const email = `bench${i}@example.com`;
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      await signUp(ua, authenticator, base, email, `Bench ${i}`);
      users.push({ email, authenticator });
    }

    const signInOnce = async (user: (typeof users)[number], n: number) => {
      const ua = new UserAgent(origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client, { nonce: `n${n}`, state: `s${n}` }));
      const result = await finishAtRp(ua, await signIn(ua, user.authenticator, base, user.email));
      const tokens = await exchangeCode(server, client, result.params.code);
      if (tokens.status !== 200) throw new Error(`token endpoint answered ${tokens.status}`);
      const claims = await verifyIdToken(server, client, tokens.body.id_token);
      if (claims.email !== user.email) throw new Error('wrong user in ID token');
    };

    // Warm-up, then the timed run.
    for (let i = 0; i < CONCURRENCY; i += 1) await signInOnce(users[i % users.length], i);
    const cpuBefore = processCpuMs(child.pid!);
    const latencies: number[] = [];
    let failures = 0;
    let counter = 0;
    const start = performance.now();
    // Each worker signs in its own users: one passkey used twice at the same moment is (rightly) refused.
    const perWorker = USERS / CONCURRENCY;
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() - start < DURATION_MS) {
        const n = counter++;
        const t0 = performance.now();
        try {
          await signInOnce(users[worker * perWorker + (n % perWorker)], n);
          latencies.push(performance.now() - t0);
        } catch (error) {
          failures += 1;
          if (failures < 5) console.error(`sign-in failed: ${(error as Error).message}`);
        }
      }
    }));
    const elapsedS = (performance.now() - start) / 1000;
    const serverCpuMs = processCpuMs(child.pid!) - cpuBefore;
    const rssMb = processRssMb(child.pid!);

    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    const signinsPerS = latencies.length / elapsedS;
    const cpuPerSignIn = serverCpuMs / Math.max(1, latencies.length);
    const floorMs = await cryptoFloorMs();
    const ratio = cpuPerSignIn / floorMs;

    console.log('');
    console.log(`Sesame sign-in benchmark (${quick ? 'quick' : 'full'}): ${CONCURRENCY} concurrent clients, ${USERS} users, ${elapsedS.toFixed(1)} s, SQLite`);
    console.table({
      'sign-ins completed': latencies.length,
      'failures': failures,
      'sign-ins per second': Number(signinsPerS.toFixed(1)),
      'latency p50 (ms)': Number(pct(50).toFixed(1)),
      'latency p99 (ms)': Number(pct(99).toFixed(1)),
      'server CPU per sign-in (ms)': Number(cpuPerSignIn.toFixed(2)),
      'crypto floor per sign-in (ms)': Number(floorMs.toFixed(3)),
      'server RSS (MB)': Number(rssMb.toFixed(0)),
    });
    console.log(`ratio=${ratio.toFixed(1)} signins_per_s=${signinsPerS.toFixed(1)} p99_ms=${pct(99).toFixed(1)} rss_mb=${rssMb.toFixed(0)}`);
    if (failures > 0) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The unavoidable crypto of one sign-in: verify the ES256 assertion, sign the RS256 ID token, hash. */
async function cryptoFloorMs(): Promise<number> {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaKey = await importJWK({ ...(await exportJWK(rsa.privateKey)), alg: 'RS256' }, 'RS256');
  const authData = Buffer.alloc(37, 1);
  const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'x'.repeat(43), origin: 'https://id.example.com' }));
  const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), ec.privateKey);
  const once = async () => {
    const clientDataHash = createHash('sha256').update(clientData).digest();
    createHash('sha256').update('localhost').digest();
    if (!verify('sha256', Buffer.concat([authData, clientDataHash]), ec.publicKey, signature)) throw new Error('floor verify failed');
    await new SignJWT({ sub: 'user', name: 'Bench', email: 'b@example.com', nonce: 'n' }).setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setIssuer('https://id.example.com/t/oidc').setAudience('client').setIssuedAt().setExpirationTime('1h').sign(rsaKey);
  };
  for (let i = 0; i < 50; i += 1) await once();
  const iterations = 400;
  const t0 = performance.now();
  for (let i = 0; i < iterations; i += 1) await once();
  return (performance.now() - t0) / iterations;
}

function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function processRssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function waitForReady(origin: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`${origin}/readyz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not become ready within 20 s');
}

await main();
