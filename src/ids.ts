import { randomBytes } from 'node:crypto';

/** An unguessable identifier: `bytes` random bytes, base64url-encoded. */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}
