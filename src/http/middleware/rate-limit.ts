import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { tooManyRequests } from '../../errors.js';
import type { RateLimitRepository } from '../../storage/repositories/rate-limits.js';

export interface RateLimitRule {
  points: number;
  durationSeconds: number;
}

/**
 * Rate limits for sign-in, sign-up and the phone's approvals, counted in the database so that every
 * node shares them.
 *
 * Two rules, chosen so that nobody can lock someone else out:
 * - per network: an IPv4 address, or an IPv6 /64 (one subscriber's whole allocation: a client that
 *   rotates through its own /64 is still one key);
 * - per account *as seen from that network*: repeated attempts on one e-mail address are slowed
 *   for the network making them, while the owner, elsewhere, signs in as usual. (A limit on the
 *   e-mail alone would let anyone block a person's sign-in by trying their address.)
 */
export class CeremonyRateLimits {
  constructor(
    private readonly counts: RateLimitRepository,
    /** `authorizationsPerIp` is for the limiter of sign-in starts (consumeAuthorization) only. */
    private readonly rules: { perIp: RateLimitRule; perAccount: RateLimitRule; authorizationsPerIp?: RateLimitRule },
    /**
     * `purpose` names the counters, so that limits for another purpose (recovery mails, codes) count
     * apart from sign-ins; `message` is what a person is told beyond the limit.
     */
    private readonly options: { purpose?: string; message?: string } = {},
  ) {}

  async consume(ip: string, account?: string, now = Date.now()): Promise<void> {
    const network = networkOf(ip);
    const counted: Array<[string, RateLimitRule]> = [[`${this.options.purpose ?? ''}ip:${network}`, this.rules.perIp]];
    if (account) counted.push([`${this.options.purpose ?? ''}acct:${account.toLowerCase()}|${network}`, this.rules.perAccount]);
    await this.count(counted, now);
  }

  /**
   * A new authorization request (oidc-provider stores an interaction for an hour for each), per
   * network: without it one client could fill the database by repeating a valid /auth URL.
   */
  async consumeAuthorization(ip: string, now = Date.now()): Promise<void> {
    if (!this.rules.authorizationsPerIp) return;
    await this.count([[`${this.options.purpose ?? ''}auth:${networkOf(ip)}`, this.rules.authorizationsPerIp]], now,
      'Too many sign-in requests came from your network in the last minute. Please wait a minute and try again.');
  }

  /** Rows of every limit whose window is over (each row knows its window); called by the housekeeping timer. */
  purge(now = Date.now()): Promise<void> {
    return this.counts.purgeEnded(now);
  }

  /** Counts a hit on each key, in one statement when their windows are as long (they are: a minute). */
  private count(keys: Array<[string, RateLimitRule]>, now: number,
    message = this.options.message ?? 'Too many sign-in attempts. Please wait a minute and try again.'): Promise<void> {
    return countHits(this.counts, keys, now, message);
  }
}

/**
 * One limit on one kind of key, whatever network it comes from: open onboarding counts applications
 * per e-mail domain (and per network) in windows of an hour.
 */
export class KeyedRateLimit {
  constructor(
    private readonly counts: RateLimitRepository,
    /** Names the counters ("onboard-domain"); also the prefix of the stored key. */
    private readonly name: string,
    private readonly rule: RateLimitRule,
    private readonly message: string,
  ) {}

  consume(value: string, now = Date.now()): Promise<void> {
    return countHits(this.counts, [[`${this.name}:${value.toLowerCase()}`, this.rule]], now, this.message);
  }
}

async function countHits(counts: RateLimitRepository, keys: Array<[string, RateLimitRule]>, now: number, message: string): Promise<void> {
  // Hashed: the table then holds neither e-mail addresses nor IP addresses.
  const stored = keys.map(([key]) => `${key.slice(0, key.indexOf(':'))}:${createHash('sha256').update(key).digest('base64url')}`);
  const windows = new Set(keys.map(([, rule]) => rule.durationSeconds));
  const hits = windows.size === 1
    ? await counts.hitAll(stored, keys[0]![1].durationSeconds * 1000, now)
    : await Promise.all(stored.map((key, i) => counts.hit(key, keys[i]![1].durationSeconds * 1000, now)));
  const exceeded = keys.filter(([, rule], i) => hits[i]! > rule.points);
  if (exceeded.length > 0) throw tooManyRequests(message, Math.max(...exceeded.map(([, rule]) => rule.durationSeconds)));
}

/** The network a client address belongs to, for rate limiting: IPv4 as is, IPv6 by its /64. */
export function networkOf(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip); // IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes plain IPv4
  if (address.kind() === 'ipv4') return address.toString();
  return `${address.toNormalizedString().split(':').slice(0, 4).join(':')}::/64`;
}
