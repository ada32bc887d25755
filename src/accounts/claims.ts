import type { Account, FindAccount } from 'oidc-provider';
import type { UserRepository } from '../storage/repositories/users.js';
import { CLAIMS_SCOPE } from './custom-claims.js';

/**
 * The claims Sesame asserts about a user. `sub` is the opaque user id (never the e-mail, which a
 * user may change); relying parties like B2C key accounts on iss + sub.
 */
export function accountFinder(users: UserRepository, tenantId: string, customClaims: (userId: string) => Promise<Record<string, unknown>>): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await users.findById(tenantId, sub);
    if (!user) return undefined;
    return {
      accountId: user.id,
      // Custom claims first: the standard ones can never be overridden (their names are reserved anyway).
      claims: async (_use, scope) => ({
        ...(scope.split(' ').includes(CLAIMS_SCOPE) ? await customClaims(user.id) : {}),
        sub: user.id,
        name: user.displayName,
        email: user.email,
        email_verified: user.emailVerified,
      }),
    };
  };
}
