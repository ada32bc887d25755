import { randomId } from '../ids.js';
import { badRequest } from '../errors.js';
import type { ChallengeRecord, ChallengeRepository } from '../storage/repositories/challenges.js';

/** Challenges live at most this long: long enough for a person, short enough to limit replay windows. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

export interface ChallengeScope {
  tenantId: string;
  interactionUid: string;
  purpose: ChallengeRecord['purpose'];
}

/**
 * WebAuthn challenges: 32 random bytes, stored server-side, bound to one tenant, one OIDC
 * interaction and one purpose, usable once, expiring after CHALLENGE_TTL_MS.
 */
export class ChallengeService {
  constructor(private readonly repository: ChallengeRepository) {}

  async issue(scope: ChallengeScope, payload: Record<string, unknown>, now = Date.now()): Promise<{ challengeId: string; challenge: string }> {
    const record: ChallengeRecord = {
      id: randomId(16),
      ...scope,
      challenge: randomId(32),
      payload,
      expiresAt: now + CHALLENGE_TTL_MS,
    };
    await this.repository.insert(record);
    return { challengeId: record.id, challenge: record.challenge };
  }

  async consume(challengeId: string, scope: ChallengeScope, now = Date.now()): Promise<ChallengeRecord> {
    const record = await this.repository.consume(challengeId, scope, now);
    if (!record) {
      throw badRequest('This sign-in attempt has expired or was already used. Please try again.', 'challenge_invalid');
    }
    return record;
  }

  purgeExpired(now = Date.now()): Promise<void> {
    return this.repository.deleteExpired(now);
  }
}
