import { createRemoteJWKSet, jwtVerify } from 'jose';
import { UserAgent } from '../test/support/user-agent.js';
import { authorizeUrl, finishAtRp, openSignInPage, signInWithAutofill, RP_REDIRECT } from '../test/support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';
import type { BenchUser } from './support.js';
import { BARE_CLIENT } from './bare-client.js';
import { requestKind } from './stats.js';

/** One complete sign-in as user `user`; throws when anything along the way is not as it should be. */
export type SignInFlow = (user: BenchUser | undefined, n: number) => Promise<void>;

/** Sesame: authorization request, sign-in page (with the passkey's options), assertion, form_post, token, ID token checked. */
export function sesameFlow(origin: string, client: Client): SignInFlow {
  const server = { origin } as never;
  const issuer = `${origin}/demo/oidc`;
  // A relying party keeps the JWKS it fetched: one fetch per run, not per sign-in.
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  return async (user, n) => {
    const ua = new UserAgent(origin);
    const { base, page } = await openSignInPage(ua, authorizeUrl(server, client, { nonce: `n${n}`, state: `s${n}` }));
    // As a browser's autofill: the passkey's options come with the page (an older Sesame's page
    // has none: then they are asked for, as its script did).
    const result = await finishAtRp(ua, await signInWithAutofill(ua, user!.authenticator, base, page.text));
    const idToken = await redeem(`${issuer}/token`, client.clientId, client.clientSecret, result.params.code);
    const { payload } = await jwtVerify(idToken, jwks, { issuer, audience: client.clientId, algorithms: ['RS256'] });
    if (payload.email !== user!.email || payload.nonce !== `n${n}`) throw new Error('wrong ID token');
  };
}

/** The bare oidc-provider: authorization request, an interaction that ends at once, form_post, token, ID token checked. */
export function bareFlow(origin: string): SignInFlow {
  const jwks = createRemoteJWKSet(new URL(`${origin}/jwks`));
  return async (_user, n) => {
    const ua = new UserAgent(origin);
    const url = new URL(`${origin}/auth`);
    url.search = new URLSearchParams({
      client_id: BARE_CLIENT.clientId, redirect_uri: BARE_CLIENT.redirectUri, response_type: 'code', response_mode: 'form_post',
      scope: 'openid profile email', state: `s${n}`, nonce: `n${n}`,
    }).toString();
    const result = await finishAtRp(ua, url.href, BARE_CLIENT.redirectUri);
    const idToken = await redeem(`${origin}/token`, BARE_CLIENT.clientId, BARE_CLIENT.clientSecret, result.params.code);
    const { payload } = await jwtVerify(idToken, jwks, { issuer: origin, audience: BARE_CLIENT.clientId, algorithms: ['RS256'] });
    if (payload.nonce !== `n${n}`) throw new Error('wrong ID token');
  };
}

async function redeem(tokenEndpoint: string, clientId: string, clientSecret: string, code: string): Promise<string> {
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: RP_REDIRECT, client_id: clientId, client_secret: clientSecret }),
  });
  const body = await response.json() as { id_token?: string };
  if (response.status !== 200 || !body.id_token) throw new Error(`token endpoint answered ${response.status}`);
  return body.id_token;
}

/**
 * Users taken for one sign-in each and given back after: one passkey used twice at the same
 * moment is (rightly) refused, so no two sign-ins in flight share a user.
 */
export class UserPool {
  private readonly free: Array<BenchUser | undefined>;
  private readonly waiting: Array<(user: BenchUser | undefined) => void> = [];

  constructor(users: BenchUser[] | undefined, size: number) {
    this.free = users ? [...users] : Array.from({ length: size }, () => undefined);
  }

  take(): Promise<BenchUser | undefined> {
    return this.free.length ? Promise.resolve(this.free.shift()) : new Promise((resolve) => this.waiting.push(resolve));
  }

  give(user: BenchUser | undefined): void {
    const next = this.waiting.shift();
    if (next) next(user);
    else this.free.push(user);
  }
}

export interface RunResult {
  completed: number;
  failures: number;
  elapsedS: number;
  latenciesMs: number[];
}

let counter = 0;

async function once(flow: SignInFlow, pool: UserPool, result: RunResult, startedAt: number): Promise<void> {
  const user = await pool.take();
  const n = counter++;
  try {
    await flow(user, n);
    result.latenciesMs.push(performance.now() - startedAt);
    result.completed += 1;
  } catch (error) {
    result.failures += 1;
    if (result.failures <= 3) console.error(`sign-in failed: ${(error as Error).message.slice(0, 300)}`);
  } finally {
    pool.give(user);
  }
}

/** Closed loop: `concurrency` clients, each starting its next sign-in when the last one ends. */
export async function closedLoop(flow: SignInFlow, pool: UserPool, concurrency: number, durationMs: number): Promise<RunResult> {
  const result: RunResult = { completed: 0, failures: 0, elapsedS: 0, latenciesMs: [] };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() - start < durationMs) await once(flow, pool, result, performance.now());
  }));
  result.elapsedS = (performance.now() - start) / 1000;
  return result;
}

/** A fixed number of sign-ins, one after another (the warm-up, and the per-request timing). */
export async function sequential(flow: SignInFlow, pool: UserPool, count: number): Promise<RunResult> {
  const result: RunResult = { completed: 0, failures: 0, elapsedS: 0, latenciesMs: [] };
  const start = performance.now();
  for (let i = 0; i < count; i += 1) await once(flow, pool, result, performance.now());
  result.elapsedS = (performance.now() - start) / 1000;
  return result;
}

/**
 * Open loop: sign-ins arrive at `ratePerS` whether or not earlier ones have finished, as people
 * do. Latency counts from the planned arrival, so a server that falls behind is not excused for
 * the sign-ins it made wait (no coordinated omission).
 */
export async function openLoop(flow: SignInFlow, pool: UserPool, ratePerS: number, durationMs: number): Promise<RunResult & { offeredPerS: number }> {
  const result: RunResult = { completed: 0, failures: 0, elapsedS: 0, latenciesMs: [] };
  const intervalMs = 1000 / ratePerS;
  const start = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i * intervalMs < durationMs; i += 1) {
    const planned = start + i * intervalMs;
    const wait = planned - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(once(flow, pool, result, planned));
  }
  await Promise.all(inFlight);
  result.elapsedS = (performance.now() - start) / 1000;
  return { ...result, offeredPerS: ratePerS };
}

/** Times every HTTP request this process makes, by kind (method and path with ids taken out). */
export class RequestTimer {
  readonly byKind = new Map<string, number[]>();
  private active = false;

  constructor() {
    const original = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      if (!this.active) return original(input, init);
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const kind = requestKind(init?.method, url.pathname);
      const t0 = performance.now();
      try {
        const response = await original(input, init);
        await response.clone().arrayBuffer();
        return response;
      } finally {
        const list = this.byKind.get(kind) ?? [];
        list.push(performance.now() - t0);
        this.byKind.set(kind, list);
      }
    };
  }

  async around<T>(fn: () => Promise<T>): Promise<T> {
    this.byKind.clear();
    this.active = true;
    try {
      return await fn();
    } finally {
      this.active = false;
    }
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}
