import { createHash, createHmac, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { MailService } from '../mail/mail-service.js';
import { EmailVerificationRepository, type EmailVerification } from '../storage/repositories/email-verifications.js';
import { UserRepository, type User } from '../storage/repositories/users.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import { randomId } from '../ids.js';
import { badRequest, conflict, SesameError } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';

export const CODE_TTL_MINUTES = 10;
export const MAX_CODE_ATTEMPTS = 5;
/** A proved sign-up address stays usable for the passkey step this long after the code expired. */
const PROVED_GRACE_MS = 60 * 60 * 1000;

export type EmailVerificationStart =
  | { purpose: 'signup'; interactionUid: string; email: string; displayName: string }
  | { purpose: 'account'; user: User; email: string };

/** What the page shows after a code was sent. */
export interface CodeSent {
  verificationId: string;
  email: string;
  expiresInMinutes: number;
}

/**
 * Proves that a person receives mail at an address: a 6-digit code (10 minutes, 5 tries, once) and a
 * link carrying a random token, both in one mail. A code has only 10^6 values, so its hash is an
 * HMAC under a key derived from the server key (a copy of the database alone cannot try them all),
 * over the verification's id (the per-row salt). The link token has 256 bits: SHA-256 suffices.
 *
 * Sign-up: the proof is bound to the sign-in page's interaction and spent when the account is made.
 * Account page: the proof is bound to the user and switches the account to the address at once.
 */
export class EmailVerificationService {
  private readonly verifications: EmailVerificationRepository;
  private readonly users: UserRepository;
  private readonly codeKey: Buffer;

  constructor(
    private readonly db: Kysely<Schema>,
    secrets: SecretBox,
    private readonly mail: MailService,
    private readonly publicUrl: string,
    private readonly audit: AuditLog,
  ) {
    this.verifications = new EmailVerificationRepository(db);
    this.users = new UserRepository(db);
    this.codeKey = Buffer.from(secrets.derive('sesame/email-verification-code'), 'base64url');
  }

  async send(tenant: Tenant, start: EmailVerificationStart, now = Date.now()): Promise<CodeSent> {
    const holder = await this.users.findByEmail(tenant.id, start.email);
    if (start.purpose === 'signup' && holder?.emailVerified) {
      throw conflict('An account with this e-mail address already exists. Sign in with its passkey instead.', 'account_exists');
    }
    if (start.purpose === 'account' && holder && holder.id !== start.user.id) {
      throw conflict('Another account uses this e-mail address. Choose another one.', 'email_taken');
    }
    if (start.purpose === 'account' && holder?.id === start.user.id && start.user.emailVerified) {
      throw conflict('This address is already confirmed for your account.', 'email_already_verified');
    }
    const id = randomId(16);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const linkToken = randomId(32);
    const displayName = start.purpose === 'signup' ? start.displayName : start.user.displayName;
    await this.verifications.insert({
      id,
      tenantId: tenant.id,
      purpose: start.purpose,
      binding: start.purpose === 'signup' ? start.interactionUid : userBinding(start.user.id),
      userId: start.purpose === 'account' ? start.user.id : null,
      email: start.email,
      displayName,
      codeHash: this.codeHash(id, code),
      linkHash: sha256(linkToken),
      expiresAt: now + CODE_TTL_MINUTES * 60_000,
      createdAt: now,
    });
    const link = `${this.publicUrl}/${tenant.id}/verify-email?${new URLSearchParams({ v: id, t: linkToken })}`;
    await this.mail.enqueue({ tenantId: tenant.id, to: start.email, template: 'verify-email', data: { code, link, expiresInMinutes: CODE_TTL_MINUTES, displayName } });
    return { verificationId: id, email: start.email, expiresInMinutes: CODE_TTL_MINUTES };
  }

  /** One try with the code typed on the page that asked for it (`binding`: its interaction, or `user:<id>`). */
  async proveWithCode(tenant: Tenant, binding: string, verificationId: string, code: string, now = Date.now()): Promise<EmailVerification> {
    const found = await this.verifications.find(tenant.id, verificationId);
    if (!found || found.binding !== binding) throw unknownVerification();
    if (await this.verifications.tryCode(tenant.id, verificationId, this.codeHash(verificationId, code), MAX_CODE_ATTEMPTS, now)) {
      return this.afterProof(found, now);
    }
    const after = (await this.verifications.find(tenant.id, verificationId))!;
    if (after.verifiedAt !== null) throw new SesameError('code_used', 409, 'This code was already used. If your address is not confirmed yet, send a new code.');
    if (after.expiresAt <= now) throw new SesameError('code_expired', 400, 'This code has expired. Send a new code.');
    if (after.attempts >= MAX_CODE_ATTEMPTS) throw new SesameError('code_locked', 400, 'That was the last try for this code. Send a new code.');
    const left = MAX_CODE_ATTEMPTS - after.attempts;
    throw new SesameError('code_wrong', 400, `This code is not right. Check the mail and try again (${left} ${left === 1 ? 'try' : 'tries'} left).`);
  }

  /** The link in the mail, opened in any browser: it proves the address as the code does. */
  async proveWithLink(tenant: Tenant, verificationId: string, linkToken: string, now = Date.now()): Promise<EmailVerification> {
    const found = await this.verifications.find(tenant.id, verificationId);
    if (!found || !(await this.verifications.proveByLink(tenant.id, verificationId, sha256(linkToken), MAX_CODE_ATTEMPTS, now))) {
      throw new SesameError('link_invalid', 400, 'This link has expired or was already used. Send a new code from the page where you entered your address.');
    }
    return this.afterProof(found, now);
  }

  /** Whether the address of this sign-up was proved (the page polls it while the mail may be opened elsewhere). */
  async isProved(tenantId: string, binding: string, verificationId: string): Promise<boolean> {
    const found = await this.verifications.find(tenantId, verificationId);
    if (!found || found.binding !== binding) throw unknownVerification();
    return found.verifiedAt !== null;
  }

  /** The proved, unspent sign-up verification for this interaction, or a clear refusal. */
  async requireProvedSignUp(tenantId: string, interactionUid: string, verificationId: string | undefined, now = Date.now()): Promise<EmailVerification> {
    const found = verificationId ? await this.verifications.find(tenantId, verificationId) : undefined;
    if (!found || found.purpose !== 'signup' || found.binding !== interactionUid || found.verifiedAt === null
      || found.consumedAt !== null || found.expiresAt + PROVED_GRACE_MS <= now) {
      throw new SesameError('email_not_verified', 400, 'Confirm your e-mail address with the code we sent you first.');
    }
    return found;
  }

  /** Spends a proved sign-up verification inside the transaction that creates the account. */
  async spendSignUp(trx: Kysely<Schema>, tenantId: string, verificationId: string, now = Date.now()): Promise<void> {
    if (!(await this.verifications.consume(trx, tenantId, verificationId, now))) {
      throw new SesameError('email_not_verified', 400, 'This confirmed address was already used for an account. Start again.');
    }
  }

  purgeExpired(now = Date.now()): Promise<void> {
    return this.verifications.deleteExpired(now - PROVED_GRACE_MS);
  }

  /** From the account page, a proof switches the account to the address (and marks it verified) at once. */
  private async afterProof(verification: EmailVerification, now: number): Promise<EmailVerification> {
    if (verification.purpose !== 'account' || !verification.userId) {
      await this.audit.record({ type: 'email.verified', tenantId: verification.tenantId, email: verification.email, detail: { purpose: verification.purpose } });
      return verification;
    }
    const userId = verification.userId;
    const previous = (await this.users.findById(verification.tenantId, userId))?.email;
    try {
      await this.db.transaction().execute(async (trx) => {
        if (!(await this.verifications.consume(trx, verification.tenantId, verification.id, now))) return;
        await new UserRepository(trx).setVerifiedEmail(verification.tenantId, userId, verification.email);
      });
    } catch (error) {
      const holder = await this.users.findByEmail(verification.tenantId, verification.email);
      if (holder && holder.id !== userId) throw conflict('Another account uses this e-mail address now. Choose another one.', 'email_taken');
      throw error;
    }
    await this.audit.record(previous === verification.email
      ? { type: 'email.verified', tenantId: verification.tenantId, userId, email: verification.email, detail: { purpose: 'account' } }
      : { type: 'email.changed', tenantId: verification.tenantId, userId, email: verification.email, detail: { previousEmail: previous ?? null } });
    return verification;
  }

  private codeHash(id: string, code: string): string {
    return createHmac('sha256', this.codeKey).update(`${id}:${code}`).digest('base64url');
  }
}

export const userBinding = (userId: string) => `user:${userId}`;

const unknownVerification = () => badRequest('We have no code request like this for this page. Send a new code.', 'verification_unknown');

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
