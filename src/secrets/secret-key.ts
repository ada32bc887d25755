import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KEY_BYTES } from './secret-box.js';

export const KEY_FILE_NAME = 'secret.key';

/**
 * Reads a key written as base64 or base64url (with or without padding). `source` names where it came
 * from for the error message; the value itself is never repeated in a message.
 */
export function parseSecretKey(raw: string, source: string): Buffer {
  const text = raw.trim();
  const key = Buffer.from(text, 'base64');
  const canonical = key.toString('base64url');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) || key.length !== KEY_BYTES || text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_') !== canonical) {
    throw new Error(`${source} must be ${KEY_BYTES} random bytes written in base64 or base64url (43 or 44 characters; make one with `
      + `"openssl rand -base64 ${KEY_BYTES}"), but it has ${text.length} characters that do not decode to ${KEY_BYTES} bytes.`);
  }
  return key;
}

export interface SecretKey {
  key: Buffer;
  /** The key file used when SESAME_SECRET_KEY is not set, and whether this start created it. */
  file?: { path: string; created: boolean };
}

/**
 * The key that encrypts secrets at rest: SESAME_SECRET_KEY when set (config.ts requires it for an
 * https PUBLIC_URL), otherwise — on a developer's machine — a key file under DATA_DIR, created with
 * mode 0600 on first start.
 */
export function loadSecretKey(config: { secretKey: Buffer | undefined; dataDir: string }): SecretKey {
  if (config.secretKey) return { key: config.secretKey };
  const file = path.join(config.dataDir, KEY_FILE_NAME);
  fs.mkdirSync(config.dataDir, { recursive: true });
  if (!fs.existsSync(file)) {
    // Written aside and linked into place: of two processes starting at once, exactly one key wins
    // and nobody reads a half-written file.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(draft, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(draft, file);
      return { key: parseSecretKey(fs.readFileSync(file, 'utf8'), file), file: { path: file, created: true } };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(draft, { force: true });
    }
  }
  return { key: parseSecretKey(fs.readFileSync(file, 'utf8'), `The key file ${file}`), file: { path: file, created: false } };
}
