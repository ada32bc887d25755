import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { tooManyRequests } from '../../errors.js';

export interface RateLimitRule {
  points: number;
  durationSeconds: number;
}

/**
 * Rate limits for sign-in and sign-up, counted per client IP and per account (e-mail). Kept in
 * process memory: each node limits on its own (a shared store arrives with the multi-node work).
 */
export class CeremonyRateLimits {
  private readonly perIp: RateLimiterMemory;
  private readonly perAccount: RateLimiterMemory;

  constructor(rules: { perIp: RateLimitRule; perAccount: RateLimitRule }) {
    this.perIp = new RateLimiterMemory({ keyPrefix: 'ip', points: rules.perIp.points, duration: rules.perIp.durationSeconds });
    this.perAccount = new RateLimiterMemory({ keyPrefix: 'acct', points: rules.perAccount.points, duration: rules.perAccount.durationSeconds });
  }

  async consume(ip: string, account?: string): Promise<void> {
    try {
      await this.perIp.consume(ip);
      if (account) await this.perAccount.consume(account.toLowerCase());
    } catch (error) {
      if (error instanceof RateLimiterRes) throw tooManyRequests('Too many sign-in attempts. Please wait a minute and try again.');
      throw error;
    }
  }
}
