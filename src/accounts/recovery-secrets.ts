import { createHmac, randomInt } from 'node:crypto';
import type { SecretBox } from '../secrets/secret-box.js';
import { randomId } from '../ids.js';

/**
 * The secrets of account recovery: e-mailed codes, the ten recovery codes and administrators' links.
 * Codes use an alphabet without look-alikes (no 0/O, 1/I/L, U/V), typed in any case, with or without
 * spaces and dashes. Only a keyed hash (HMAC-SHA256 under a key derived from the server key) is
 * stored: a copy of the database alone cannot test guesses of an 8-character code offline.
 */
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTWXYZ';
export const EMAIL_CODE_LENGTH = 8;
export const RECOVERY_CODE_LENGTH = 10;

export function newCode(length: number): string {
  let code = '';
  for (let i = 0; i < length; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

/** How a code is shown: groups of four or five, easier to read aloud and to copy. */
export function formatCode(code: string): string {
  const group = code.length % 5 === 0 ? 5 : 4;
  return code.match(new RegExp(`.{1,${group}}`, 'g'))!.join('-');
}

export function normalizeCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

export const newLinkToken = (): string => randomId(32);

export class RecoveryHasher {
  private readonly key: Buffer;

  constructor(secrets: SecretBox) {
    this.key = Buffer.from(secrets.derive('sesame/recovery-secret-hash'), 'base64url');
  }

  /** `scope` binds the hash to where the secret belongs (tenant and user), so equal codes of two people differ. */
  hash(scope: string, secret: string): string {
    return createHmac('sha256', this.key).update(`${scope}\n${secret}`).digest('base64url');
  }
}
