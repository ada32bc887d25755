import { createHash } from 'node:crypto';
import { randomId } from '../ids.js';
import type { SessionRepository } from '../storage/repositories/sessions.js';

/**
 * The short session of a tenant's account page (/<tenant>/account), where people manage their
 * passkeys. It is separate from the OIDC session on purpose: changing passkeys needs a recent
 * passkey sign-in, so it lasts only ACCOUNT_SESSION_SECONDS. It lives on the server: the cookie
 * holds a random id (only its hash is stored), so signing out, or removing the passkey that opened
 * it, ends it everywhere at once.
 */
export const ACCOUNT_SESSION_SECONDS = 15 * 60;
export const ACCOUNT_COOKIE = 'sesame_account';

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface AccountSession {
  /** The stored form of the session's id (what PasskeyRemoval keeps alive while it removes). */
  idHash: string;
  userId: string;
  credentialId: string;
}

export class AccountSessions {
  constructor(private readonly sessions: SessionRepository) {}

  /** Opens a session for the user who just signed in with `credentialId`; returns the cookie value. */
  async open(tenantId: string, userId: string, credentialId: string, now = Date.now()): Promise<string> {
    const token = randomId(32);
    await this.sessions.insertAccountSession({ idHash: hashOf(token), tenantId, userId, credentialId, expiresAt: now + ACCOUNT_SESSION_SECONDS * 1000 });
    return token;
  }

  /** The session of a cookie value, or undefined for a missing, expired, ended or made-up one. */
  async read(tenantId: string, token: string | undefined, now = Date.now()): Promise<AccountSession | undefined> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const found = await this.sessions.findAccountSession(tenantId, hashOf(token), now);
    return found && { idHash: found.idHash, userId: found.userId, credentialId: found.credentialId };
  }

  async end(tenantId: string, token: string | undefined): Promise<void> {
    if (token) await this.sessions.deleteAccountSession(tenantId, hashOf(token));
  }
}
