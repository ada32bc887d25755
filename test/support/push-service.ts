import { createECDH, randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import ece from 'http_ece';
import { importJWK, jwtVerify } from 'jose';
import { localhostCertificate } from './tls.js';

/**
 * A Web Push service run by the test, as Mozilla's or Google's would be: https on localhost with a
 * certificate the test makes (`sesameOptions` makes Sesame trust it and allow this host), a VAPID check of every request (RFC
 * 8292: ES256 JWT, aud = our origin, exp, sub, and k = the key that verifies it), and decryption of
 * the aes128gcm payload (RFC 8291) with the subscription's private key, as the phone would.
 */
export interface ReceivedPush {
  subscriptionId: string;
  payload: unknown;
  vapid: { sub: string; aud: string; exp: number; publicKey: string };
  ttl: string | null;
  urgency: string | null;
}

export interface TestPushService {
  /** Certificate and key of the service (a test's webhook receiver may serve https with them too). */
  tls: { cert: Buffer; key: Buffer };
  /** startTestServer options under which Sesame delivers to this service. */
  sesameOptions: { outboundCa: Buffer; env: Record<string, string> };
  received: ReceivedPush[];
  subscribe(): { endpoint: string; keys: { p256dh: string; auth: string } };
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedPush[]>;
  close(): Promise<void>;
}

export async function startPushService(): Promise<TestPushService> {
  const { cert, key } = localhostCertificate();

  const subscriptions = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: string }>();
  const received: ReceivedPush[] = [];
  const waiters: Array<() => void> = [];

  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const id = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1];
        const subscription = id && subscriptions.get(id);
        if (!subscription) throw Object.assign(new Error('unknown subscription'), { status: 404 });
        const auth = /^vapid t=([^,]+),\s*k=([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? '');
        if (!auth) throw Object.assign(new Error('missing VAPID authorization'), { status: 401 });
        const point = Buffer.from(auth[2], 'base64url');
        const publicKey = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, 'ES256');
        const { payload } = await jwtVerify(auth[1], publicKey, { audience: `https://localhost:${port}`, algorithms: ['ES256'] });
        if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) throw Object.assign(new Error('bad VAPID sub'), { status: 401 });
        if (req.headers['content-encoding'] !== 'aes128gcm') throw Object.assign(new Error('not aes128gcm'), { status: 415 });
        const plaintext = ece.decrypt(Buffer.concat(chunks), { version: 'aes128gcm', privateKey: subscription.ecdh, authSecret: subscription.auth });
        received.push({
          subscriptionId: id,
          payload: JSON.parse(plaintext.toString('utf8')),
          vapid: { sub: payload.sub, aud: String(payload.aud), exp: Number(payload.exp), publicKey: auth[2] },
          ttl: req.headers.ttl as string ?? null,
          urgency: req.headers.urgency as string ?? null,
        });
        res.writeHead(201).end();
        for (const wake of waiters.splice(0)) wake();
      } catch (error) {
        res.writeHead((error as { status?: number }).status ?? 400).end((error as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    tls: { cert, key },
    sesameOptions: { outboundCa: cert, env: { PUSH_SERVICE_HOSTS: 'localhost', OUTBOUND_ALLOW_PRIVATE: 'localhost' } },
    received,
    subscribe() {
      const id = randomBytes(8).toString('hex');
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16).toString('base64url');
      subscriptions.set(id, { ecdh, auth });
      return { endpoint: `https://localhost:${port}/push/${id}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth } };
    },
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} pushes, got ${received.length}`);
        await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 100); });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
