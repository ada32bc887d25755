import { createHash } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Tenant } from '../storage/repositories/tenants.js';

/**
 * The short session of a tenant's account page (/<tenant>/account), where people manage their
 * passkeys. It is separate from the OIDC session on purpose: changing passkeys needs a recent
 * passkey sign-in, so it lasts only ACCOUNT_SESSION_SECONDS. A JWT (HS256, keyed from the
 * tenant's cookie secret) in an HttpOnly cookie scoped to the account path.
 */
export const ACCOUNT_SESSION_SECONDS = 15 * 60;
export const ACCOUNT_COOKIE = 'sesame_account';
const AUDIENCE = 'sesame-account';

function keyFor(tenant: Tenant): Uint8Array {
  return createHash('sha256').update(`account-session:${tenant.cookieKeys[0]}`).digest();
}

export async function issueAccountSession(tenant: Tenant, userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setAudience(AUDIENCE)
    .setIssuer(tenant.id)
    .setIssuedAt()
    .setExpirationTime(`${ACCOUNT_SESSION_SECONDS}s`)
    .sign(keyFor(tenant));
}

/** The signed-in user id, or undefined for a missing, expired or forged cookie. */
export async function readAccountSession(tenant: Tenant, token: string | undefined): Promise<string | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, keyFor(tenant), { audience: AUDIENCE, issuer: tenant.id, algorithms: ['HS256'] });
    return payload.sub;
  } catch {
    return undefined;
  }
}
