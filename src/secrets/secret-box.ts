import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals secrets before they are written to the database: AES-256-GCM with a fresh 96-bit IV per
 * value. A sealed value reads `enc:v1:<key id>:<base64url(iv ‖ ciphertext ‖ tag)>`: `v1` names the
 * format, the key id names the key, so a later key rotation can tell which key opens a value (and a
 * wrong key is reported as such instead of failing somewhere deep inside). Each value is bound to
 * where it is stored (`context`, the additional authenticated data), so a ciphertext copied into
 * another row or column does not open.
 */
export class SecretBox {
  /** Non-secret name of the key: lets errors say "wrong key" and a future rotation pick the right one. */
  readonly keyId: string;
  private readonly encryptionKey: Buffer;
  private readonly derivationKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== KEY_BYTES) throw new Error(`A secret key has ${KEY_BYTES} bytes, this one has ${masterKey.length}.`);
    // Separate subkeys per use, so that neither the key id nor derived secrets say anything about the encryption key.
    this.encryptionKey = subkey(masterKey, 'sesame/v1/aes-256-gcm', KEY_BYTES);
    this.derivationKey = subkey(masterKey, 'sesame/v1/derive', KEY_BYTES);
    this.keyId = subkey(masterKey, 'sesame/v1/key-id', 6).toString('base64url');
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${this.keyId}:${Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url')}`;
  }

  open(sealed: string, context: string): string {
    if (!isSealed(sealed)) throw new Error(`A secret stored for ${context} is not encrypted; the database was not converted by this version of Sesame.`);
    const [keyId, data] = sealed.slice(PREFIX.length).split(':');
    if (keyId !== this.keyId) {
      throw new Error(`The secrets in this database were encrypted with secret key "${keyId}", but the configured key is "${this.keyId}". `
        + 'Start Sesame with the SESAME_SECRET_KEY (or data/secret.key) this database was set up with.');
    }
    const bytes = Buffer.from(data ?? '', 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`A secret stored for ${context} does not decrypt with secret key "${this.keyId}": it was altered or belongs elsewhere.`);
    }
  }

  /** A stable secret for `purpose`, derived from the key: for secrets Sesame must know but need not store. */
  derive(purpose: string): string {
    return subkey(this.derivationKey, purpose, 32).toString('base64url');
  }
}

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'enc:v1:';

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

function subkey(key: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, length));
}
