import { createHash } from 'node:crypto';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import type { Logger } from '../log.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import type { User, UserRepository } from '../storage/repositories/users.js';
import type { StoredCredential } from '../storage/repositories/credentials.js';
import type { RateLimitRepository } from '../storage/repositories/rate-limits.js';
import type { Recovery, RecoveryMethod, RecoveryRepository } from '../storage/repositories/recovery.js';
import type { MailService } from '../mail/mail-service.js';
import type { RegistrationResponse } from '../webauthn/response-schema.js';
import type { CeremonyStart, PasskeyService } from './passkey-service.js';
import type { PasskeyRemoval } from './session-revocation.js';
import { describeBrowser } from '../crossdevice/describe-browser.js';
import { amrFor } from '../webauthn/amr.js';
import { randomId } from '../ids.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { EMAIL_CODE_LENGTH, formatCode, newCode, newLinkToken, normalizeCode, RECOVERY_CODE_LENGTH, type RecoveryHasher } from './recovery-secrets.js';

/** E-mailed codes, administrators' links and an open recovery all last this long. */
export const RECOVERY_TTL_MS = 15 * 60 * 1000;
/** Tries per e-mailed code: with 29^8 codes, five guesses succeed with a chance of about 1 in 10^11. */
export const MAX_CODE_ATTEMPTS = 5;
export const RECOVERY_CODE_COUNT = 10;
/** Code mails per account and minute, from all networks together: nobody can flood a mailbox. */
const MAILS_PER_ACCOUNT_PER_MINUTE = 3;

export const EMAIL_RECOVERY_OFF = 'Recovery by e-mail is turned off here. Use one of your recovery codes, or ask your administrator for a sign-in link.';

/** Who is recovering: shown in the security notice and kept with the record. */
export interface RecoveringClient { ip: string; userAgent: string; timeZone?: string }

export interface RecoveredSignIn {
  user: User;
  credentialId: string;
  /** RFC 8176: `otp` for the one-time code that let the person in, then what the new passkey is (docs/design-decisions.md). */
  amr: string[];
}

/**
 * Getting back into an account whose passkeys are lost. A one-time secret — a code sent by e-mail,
 * one of the person's ten recovery codes, or an administrator's link — opens a recovery (a row in
 * `recoveries`, also its record), bound to the sign-in page or browser it was redeemed in. A
 * recovery can do exactly three things, in this order: register a new passkey on this device,
 * remove old passkeys, and finish (sign in). The person is told by e-mail that it happened.
 */
export class RecoveryService {
  constructor(
    private readonly repository: RecoveryRepository,
    private readonly users: UserRepository,
    private readonly passkeys: PasskeyService,
    private readonly removal: PasskeyRemoval,
    private readonly mail: MailService,
    private readonly counts: RateLimitRepository,
    private readonly hasher: RecoveryHasher,
    private readonly publicUrl: string,
    private readonly log: Logger,
  ) {}

  /**
   * Sends a code to the address if it has an account. Unknown addresses get the same answer and no
   * mail: this is the one place where Sesame does not tell which addresses have accounts.
   */
  async sendEmailCode(tenant: Tenant, interactionUid: string, email: string, now = Date.now()): Promise<void> {
    if (tenant.emailRecovery === false) throw forbidden(EMAIL_RECOVERY_OFF, 'email_recovery_off');
    const user = await this.users.findByEmail(tenant.id, email);
    if (!user || user.disabled) return;
    const perAccount = `recovery-mail:${createHash('sha256').update(`${tenant.id}:${user.id}`).digest('base64url')}`;
    if (await this.counts.hit(perAccount, 60_000, now) > MAILS_PER_ACCOUNT_PER_MINUTE) return;
    const code = newCode(EMAIL_CODE_LENGTH);
    const id = randomId();
    await this.repository.replaceEmailRequest({
      id, tenantId: tenant.id, userId: user.id, binding: interactionUid,
      secretHash: this.hasher.hash(`email:${id}`, code), createdAt: now, expiresAt: now + RECOVERY_TTL_MS,
    });
    try {
      await this.mail.enqueue({
        tenantId: tenant.id, to: user.email, template: 'recovery-code',
        data: { code: formatCode(code), expiresInMinutes: RECOVERY_TTL_MS / 60_000, displayName: user.displayName },
      });
    } catch (err) {
      // Said to the page, this would tell that the address has an account; the person can ask again.
      this.log.error({ err, tenantId: tenant.id }, 'queueing a recovery code mail failed');
    }
  }

  async redeemEmailCode(tenant: Tenant, interactionUid: string, input: { email: string; code: string }, client: RecoveringClient, now = Date.now()): Promise<Recovery> {
    if (tenant.emailRecovery === false) throw forbidden(EMAIL_RECOVERY_OFF, 'email_recovery_off');
    const wrong = badRequest('This code is not right, or it has expired. Check the newest mail we sent you, or ask for a new code.', 'recovery_code_invalid');
    const user = await this.users.findByEmail(tenant.id, input.email);
    const request = user && !user.disabled && await this.repository.findEmailRequest(tenant.id, user.id, interactionUid, now);
    if (!user || !request) throw wrong;
    // The attempt is taken before the code is compared, so that concurrent guesses cannot exceed the limit.
    if (!await this.repository.takeAttempt(request.id, MAX_CODE_ATTEMPTS, now)) {
      throw badRequest('This code was tried too often. Ask for a new code.', 'recovery_code_spent');
    }
    if (!await this.repository.useRequest(request.id, this.hasher.hash(`email:${request.id}`, normalizeCode(input.code)), now)) throw wrong;
    return this.begin(tenant, user, 'email_code', `interaction:${interactionUid}`, client, now);
  }

  async redeemRecoveryCode(tenant: Tenant, interactionUid: string, input: { email: string; code: string }, client: RecoveringClient, now = Date.now()): Promise<Recovery> {
    const user = await this.users.findByEmail(tenant.id, input.email);
    const used = user && !user.disabled && await this.repository.useCode(tenant.id, user.id, this.codeHash(tenant.id, user.id, input.code), now);
    if (!user || !used) {
      throw badRequest('This e-mail address and recovery code do not go together. Check both: each recovery code works only once.', 'recovery_code_invalid');
    }
    return this.begin(tenant, user, 'recovery_code', `interaction:${interactionUid}`, client, now);
  }

  /** A link for an administrator to give a person who lost every passkey and their recovery codes. */
  async createAdminLink(tenantId: string, email: string, now = Date.now()): Promise<{ link: string; expiresAt: number; user: User }> {
    const user = await this.users.findByEmail(tenantId, email.trim().toLowerCase());
    if (!user) throw notFound(`Tenant "${tenantId}" has no user with the e-mail address ${email}.`, 'unknown_account');
    return this.createAdminLinkFor(user, now);
  }

  /** The same for an account an administrator found by id (the console, the admin API). */
  async createAdminLinkFor(user: User, now = Date.now()): Promise<{ link: string; expiresAt: number; user: User }> {
    const { tenantId } = user;
    if (user.disabled) throw badRequest(`${user.email} is disabled: enable the account first (sesame user enable).`, 'account_disabled');
    const token = newLinkToken();
    const expiresAt = now + RECOVERY_TTL_MS;
    await this.repository.insertLink({ id: randomId(), tenantId, userId: user.id, secretHash: this.hasher.hash(`link:${tenantId}`, token), createdAt: now, expiresAt });
    // In the fragment: it never reaches a server's logs, and a mail scanner that opens the link cannot use it.
    return { link: `${this.publicUrl}/${tenantId}/recovery/link#token=${token}`, expiresAt, user };
  }

  /** Makes the link and mails it to the person's own address (the administrator never sees it). */
  async mailAdminLink(user: User, now = Date.now()): Promise<{ expiresAt: number; sentTo: string }> {
    const { link, expiresAt } = await this.createAdminLinkFor(user, now);
    await this.mail.enqueue({
      tenantId: user.tenantId, to: user.email, template: 'recovery-link',
      data: { link, expiresInMinutes: RECOVERY_TTL_MS / 60_000, displayName: user.displayName },
    });
    return { expiresAt, sentTo: user.email };
  }

  async redeemAdminLink(tenant: Tenant, token: string, browserBinding: string, client: RecoveringClient, now = Date.now()): Promise<Recovery> {
    const userId = await this.repository.useLink(tenant.id, this.hasher.hash(`link:${tenant.id}`, token), now);
    const user = userId && await this.users.findById(tenant.id, userId);
    if (!user) throw badRequest('This sign-in link has expired or was already used. Ask your administrator for a new one.', 'recovery_link_invalid');
    return this.begin(tenant, user, 'admin_link', browserBinding, client, now);
  }

  /** The open recovery of this sign-in page or browser. */
  async open(tenantId: string, binding: string, now = Date.now()): Promise<Recovery> {
    const recovery = await this.repository.findOpen(tenantId, binding, now);
    if (!recovery) throw badRequest('This recovery has expired or is finished. Start again from the sign-in page.', 'recovery_expired');
    return recovery;
  }

  findOpen(tenantId: string, binding: string, now = Date.now()): Promise<Recovery | undefined> {
    return this.repository.findOpen(tenantId, binding, now);
  }

  async userOf(recovery: Recovery): Promise<User> {
    const user = await this.users.findById(recovery.tenantId, recovery.userId);
    if (!user) throw badRequest('The account of this recovery no longer exists.', 'unknown_account');
    return user;
  }

  /** The registration ceremony of the new passkey, bound to this recovery. */
  async startPasskey(tenant: Tenant, recovery: Recovery): Promise<CeremonyStart<PublicKeyCredentialCreationOptionsJSON>> {
    if (recovery.credentialId) throw conflict('You already added a new passkey. Continue with the next step.', 'recovery_passkey_added');
    return this.passkeys.startAddPasskey(tenant, ceremonyBinding(recovery), await this.userOf(recovery));
  }

  async finishPasskey(tenant: Tenant, recovery: Recovery, input: { challengeId: string; response: RegistrationResponse }): Promise<StoredCredential> {
    const credential = await this.passkeys.finishAddPasskey(tenant, ceremonyBinding(recovery), await this.userOf(recovery), input);
    if (!await this.repository.setCredential(recovery.id, credential.id)) {
      await this.passkeys.removePasskey(tenant.id, recovery.userId, credential.id);
      throw conflict('A new passkey was already added in this recovery. Continue with the next step.', 'recovery_passkey_added');
    }
    return credential;
  }

  /** The passkeys the account had before this recovery: the ones the person may want gone. */
  async oldPasskeys(recovery: Recovery): Promise<StoredCredential[]> {
    return (await this.passkeys.listPasskeys(recovery.tenantId, recovery.userId)).filter((p) => p.id !== recovery.credentialId);
  }

  /** Removes the old passkeys chosen (ending what they signed in to) and closes the recovery. */
  async finish(recovery: Recovery, remove: string[], now = Date.now()): Promise<RecoveredSignIn> {
    if (!recovery.credentialId) throw badRequest('Add a new passkey on this device first.', 'recovery_passkey_missing');
    const old = await this.oldPasskeys(recovery);
    const unknown = remove.filter((id) => !old.some((p) => p.id === id));
    if (unknown.length) throw badRequest('One of the passkeys to remove is not one of your old passkeys. Reload the page and choose again.', 'unknown_credential');
    if (!await this.repository.finish(recovery.id, now)) throw badRequest('This recovery has expired or is finished. Start again from the sign-in page.', 'recovery_expired');
    for (const id of remove) await this.removal.remove(recovery.tenantId, recovery.userId, id, '');
    const user = await this.userOf(recovery);
    const credential = (await this.passkeys.listPasskeys(recovery.tenantId, recovery.userId)).find((p) => p.id === recovery.credentialId);
    if (!credential) throw badRequest('The new passkey of this recovery was removed. Start again from the sign-in page.', 'recovery_expired');
    return { user, credentialId: credential.id, amr: ['otp', ...amrFor(credential)] };
  }

  /** New recovery codes for the account, replacing any it had; the only time they are readable. */
  async newRecoveryCodes(tenantId: string, userId: string, now = Date.now()): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => newCode(RECOVERY_CODE_LENGTH));
    await this.repository.replaceCodes(tenantId, userId, codes.map((code) => this.codeHash(tenantId, userId, code)), now);
    return codes.map(formatCode);
  }

  recoveryCodeStatus(tenantId: string, userId: string): Promise<{ left: number; createdAt: number } | undefined> {
    return this.repository.codeStatus(tenantId, userId);
  }

  listRecoveries(tenantId: string, userId: string): Promise<Recovery[]> {
    return this.repository.listRecoveries(tenantId, userId);
  }

  purgeExpired(now = Date.now()): Promise<void> {
    return this.repository.purgeExpired(now);
  }

  private codeHash(tenantId: string, userId: string, code: string): string {
    return this.hasher.hash(`code:${tenantId}:${userId}`, normalizeCode(code));
  }

  private async begin(tenant: Tenant, user: User, method: RecoveryMethod, binding: string, client: RecoveringClient, now: number): Promise<Recovery> {
    const recovery: Recovery = {
      id: randomId(), tenantId: tenant.id, userId: user.id, method, binding, ip: client.ip, userAgent: client.userAgent.slice(0, 512),
      startedAt: now, expiresAt: now + RECOVERY_TTL_MS, credentialId: null, finishedAt: null,
    };
    await this.repository.insertRecovery(recovery);
    const { browser, os } = describeBrowser(client.userAgent);
    try {
      await this.mail.enqueue({
        tenantId: tenant.id, to: user.email, template: 'security-notice',
        data: { event: 'recovery-used', at: now, browser, system: os, displayName: user.displayName, ...(client.timeZone ? { timeZone: client.timeZone } : {}) },
      });
    } catch (err) {
      // The person is getting back in right now; a notice that could not be queued must not stop them.
      this.log.error({ err, tenantId: tenant.id, recoveryId: recovery.id }, 'queueing the recovery notice failed');
    }
    return recovery;
  }
}

const ceremonyBinding = (recovery: Recovery) => `recovery:${recovery.id}`;
