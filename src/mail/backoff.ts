export interface Backoff {
  /** Wait after the first failed attempt; each further failure waits `factor` times longer. */
  firstDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** A mail not delivered this long after it was queued is given up ('failed'). */
  giveUpAfterMs: number;
}

/** 30 s, 2 min, 8 min, 32 min, 2 h, then every 6 h: about nine attempts in the 24 hours before giving up. */
export const DEFAULT_BACKOFF: Backoff = { firstDelayMs: 30_000, factor: 4, maxDelayMs: 6 * 3600_000, giveUpAfterMs: 24 * 3600_000 };

/**
 * When to try again after `attempts` failed attempts, or undefined to give up. ±20 % jitter keeps
 * the mails that failed together (an SMTP outage) from all coming back in the same second.
 */
export function nextAttemptAt(options: { attempts: number; now: number; createdAt: number; backoff: Backoff; random?: () => number }): number | undefined {
  const { attempts, now, createdAt, backoff } = options;
  const delay = Math.min(backoff.firstDelayMs * backoff.factor ** Math.max(0, attempts - 1), backoff.maxDelayMs);
  const next = now + Math.round(delay * (0.8 + 0.4 * (options.random ?? Math.random)()));
  return next - createdAt > backoff.giveUpAfterMs ? undefined : next;
}
