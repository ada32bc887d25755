import { badRequest } from '../errors.js';
import type { PublicJwks } from '../storage/repositories/clients.js';

/** Members that only a private (or symmetric) JWK has (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const KEY_TYPES = ['RSA', 'EC', 'OKP'];

/**
 * Checks a private_key_jwt client's key set before it is registered: a JWKS of public RSA, EC or
 * OKP keys. A private key pasted by mistake is refused, so that it is never stored.
 */
export function checkPublicJwks(value: unknown): PublicJwks {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw badRequest('The JWKS must be a JSON object with a non-empty "keys" array, like {"keys": [{"kty": "RSA", …}]}.');
  }
  for (const key of keys as Array<Record<string, unknown>>) {
    if (typeof key !== 'object' || key === null || !KEY_TYPES.includes(key.kty as string)) {
      throw badRequest(`Each key in the JWKS needs "kty" ${KEY_TYPES.join(', ')} (private_key_jwt uses public keys).`);
    }
    const secret = PRIVATE_MEMBERS.filter((member) => member in key);
    if (secret.length) {
      throw badRequest(`The JWKS contains private key material (${secret.join(', ')}). Give only the public keys; keep the private key with the client.`);
    }
  }
  return { keys: keys as PublicJwks['keys'] };
}
