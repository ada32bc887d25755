import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { SignJWT, importJWK, exportJWK } from 'jose';

export interface CryptoFloor {
  /** CPU ms to verify one ES256 assertion (client-data hash, then the signature over authData || hash). */
  assertionMs: number;
  /** CPU ms to sign one RS256 ID token. */
  idTokenMs: number;
  /** What no passkey IdP can avoid per sign-in: the two above. */
  totalMs: number;
}

/**
 * The crypto a sign-in cannot do without, as CPU time in this process: the least of several trials
 * of `iterations` operations each (the least is the one the shared machine disturbed least).
 */
export async function measureCryptoFloor(iterations: number, trials: number): Promise<CryptoFloor> {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaKey = await importJWK({ ...(await exportJWK(rsa.privateKey)), alg: 'RS256' }, 'RS256');
  const authData = Buffer.alloc(37, 1);
  const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'x'.repeat(43), origin: 'https://id.example.com' }));
  const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), ec.privateKey);

  const verifyAssertion = () => {
    const clientDataHash = createHash('sha256').update(clientData).digest();
    createHash('sha256').update('id.example.com').digest(); // the rpIdHash check
    if (!verify('sha256', Buffer.concat([authData, clientDataHash]), ec.publicKey, signature)) throw new Error('floor verify failed');
  };
  const signIdToken = () => new SignJWT({ sub: 'user', name: 'Bench', email: 'b@example.com', email_verified: true, nonce: 'n', acr: 'phr', amr: ['hwk', 'user'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'k' }).setIssuer('https://id.example.com/t/oidc').setAudience('client')
    .setIssuedAt().setExpirationTime('1h').sign(rsaKey);

  const leastCpuMs = async (op: () => unknown) => {
    for (let i = 0; i < 20; i += 1) await op();
    let least = Infinity;
    for (let t = 0; t < trials; t += 1) {
      const before = process.cpuUsage();
      for (let i = 0; i < iterations; i += 1) await op();
      const used = process.cpuUsage(before);
      least = Math.min(least, (used.user + used.system) / 1000 / iterations);
    }
    return least;
  };
  const assertionMs = await leastCpuMs(verifyAssertion);
  const idTokenMs = await leastCpuMs(signIdToken);
  return { assertionMs, idTokenMs, totalMs: assertionMs + idTokenMs };
}
