import { generateKeyPairSync, sign, verify, webcrypto, type KeyObject } from 'node:crypto';

/**
 * COSE algorithms Sesame accepts for new credentials, in the order registration options offer them
 * (authenticators take the first they support): ES256 first, because nearly every authenticator has
 * it and its keys and signatures are small; EdDSA (-8, and the fully specified Ed25519 -19 and Ed448
 * -53) next; then RS256, which Windows Hello needs; the other ECDSA, RSASSA-PSS and PKCS#1 v1.5
 * variants; RS1 last, for older Windows Hello TPM keys. Every Node.js Sesame runs on verifies these.
 */
export const CLASSICAL_ALGORITHMS: readonly number[] = [-7, -8, -19, -53, -257, -35, -36, -37, -38, -39, -258, -259, -65535];

/**
 * ML-DSA-44/65/87 (FIPS 204; COSE -48/-49/-50, draft-ietf-cose-dilithium), offered after every
 * classical algorithm: a larger, slower key is no gain while classical algorithms are sound, but a
 * post-quantum authenticator that has nothing else can still register.
 */
export const ML_DSA_ALGORITHMS: Readonly<Record<number, string>> = { [-48]: 'ML-DSA-44', [-49]: 'ML-DSA-65', [-50]: 'ML-DSA-87' };

export const isMlDsa = (alg: number): boolean => Object.hasOwn(ML_DSA_ALGORITHMS, alg);

let detected: Promise<number[]> | undefined;

/**
 * The ML-DSA algorithms this runtime can verify, found by trying them (never by its version):
 * node:crypto verifies attestation statements (src/webauthn/attestation) and WebCrypto verifies
 * assertions (@simplewebauthn/server's verifyAKP), so an algorithm counts only when both sign and
 * verify a message. Node.js 24.7+ has both; Node.js 20 has neither. Found once per process; on
 * Node.js 24 the first WebCrypto use prints its "experimental feature" warning.
 */
export function mlDsaAlgorithms(): Promise<number[]> {
  detected ??= (async () => {
    const found: number[] = [];
    for (const [alg, name] of Object.entries(ML_DSA_ALGORITHMS)) {
      if (await verifiesMlDsa(name)) found.push(Number(alg));
    }
    return found;
  })();
  return detected;
}

/** Every algorithm this runtime verifies, in the order registration options offer them. */
export async function runtimeAlgorithms(): Promise<number[]> {
  return [...CLASSICAL_ALGORITHMS, ...await mlDsaAlgorithms()];
}

async function verifiesMlDsa(name: string): Promise<boolean> {
  try {
    const message = Buffer.from('Sesame checks whether this runtime verifies ML-DSA');
    // Node.js 20's types do not know the ML-DSA key types; the call itself tells whether the runtime does.
    const { publicKey, privateKey } = (generateKeyPairSync as unknown as (type: string) => { publicKey: KeyObject; privateKey: KeyObject })(name.toLowerCase());
    const signature = sign(null, message, privateKey);
    if (!verify(null, message, publicKey, signature)) return false;
    const jwk = publicKey.export({ format: 'jwk' });
    const key = await webcrypto.subtle.importKey('jwk', jwk, { name }, false, ['verify']);
    return await webcrypto.subtle.verify({ name }, key, signature, message);
  } catch {
    return false;
  }
}
