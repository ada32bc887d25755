import { createHash, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sha256:';

/**
 * How a client secret (client_secret_basic / client_secret_post) is stored. Sesame makes every
 * secret itself from 256 random bits, so a plain SHA-256 is enough: nobody can guess such a secret
 * from its hash, and a slow password hash (or a keyed HMAC) would only add cost to every token
 * request without making a preimage any harder to find. A stolen database thus holds no usable
 * client secret.
 */
export function hashClientSecret(secret: string): string {
  return `${PREFIX}${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

export function isClientSecretHash(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** Compares a presented secret with a stored hash in constant time; anything but a hash never matches. */
export function clientSecretMatches(storedHash: string | undefined, presented: unknown): boolean {
  if (typeof storedHash !== 'string' || !isClientSecretHash(storedHash) || typeof presented !== 'string') return false;
  const expected = Buffer.from(storedHash);
  const actual = Buffer.from(hashClientSecret(presented));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
