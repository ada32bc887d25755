import { createHash, timingSafeEqual } from 'node:crypto';
import { randomId } from '../ids.js';
import { badRequest, conflict, forbidden, notFound, SesameError, tooManyRequests } from '../errors.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import type { CrossDeviceRepository, CrossDeviceRequest, CrossDeviceStatus, FailureReason, PushRefusal } from '../storage/repositories/crossdevice.js';
import { ACCOUNT_DISABLED, type PasskeyService, type CeremonyStart } from '../accounts/passkey-service.js';
import type { AuthenticationResponse } from '../webauthn/response-schema.js';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { CrossDeviceWaiters } from './waiters.js';
import type { PushDispatcher } from './push-dispatcher.js';
import { drawNumbers } from './number-matching.js';
import { describeBrowser } from './describe-browser.js';
import type { RequestDetails } from '../../sdk/passport-client.js';
import type { AuditLog } from '../audit/audit-log.js';

/** A QR code or push is valid this long; the desktop then offers a new one. */
export const REQUEST_TTL_MS = 2 * 60 * 1000;
/** An approval must be turned into a sign-in by the desktop within this time. */
export const REDEEM_WITHIN_MS = 60 * 1000;
/** Finished requests are deleted after this long; their events are kept. */
export const RETAIN_FINISHED_MS = 24 * 3600 * 1000;
/** At most this many pushes per user per minute (push bombing); the daily cap is PUSH_LIMIT_PER_DAY. */
export const PUSHES_PER_MINUTE = 3;
/** After the person turns a request down on the phone (deny, wrong number), no push for this long. */
export const PUSH_PAUSE_AFTER_REFUSAL_MS = 15 * 60 * 1000;

const PUSH_REFUSED: Record<PushRefusal['reason'], string> = {
  refused_recently: 'The phone\'s owner turned down a recent request; try again later or use the QR code.',
  per_minute: 'Several sign-in requests were just sent to your phone. Wait a minute, or scan the QR code instead.',
  per_day: 'Many sign-in requests were sent to your phone today, so no more are sent for now. Scan the QR code instead, or try again tomorrow.',
};

export const TERMINAL: CrossDeviceStatus[] = ['approved', 'denied', 'failed', 'cancelled', 'expired', 'completed'];

export interface StartInput {
  tenant: Tenant;
  interactionUid: string;
  clientName: string;
  userAgent: string;
  ip: string;
  kind: 'qr' | 'push';
  userId?: string;
}

/** Who approved a request, with which credential, and the amr values that proof earns (without `mca`). */
export interface Approval { userId: string; email?: string; credentialId: string; amr: string[] }

/** What the phone (or SDK) is shown before it approves; the SDK owns the wire format. */
export type { RequestDetails };

/**
 * Cross-device sign-in: the desktop browser starts a request (QR or push), a phone approves it with
 * number matching and a passkey assertion, and only the desktop browser that started it (holding the
 * binding secret in a cookie) can turn the approval into a sign-in, once.
 */
export class CrossDeviceService {
  constructor(
    private readonly requests: CrossDeviceRepository,
    private readonly passkeys: PasskeyService,
    private readonly waiters: CrossDeviceWaiters,
    private readonly push: PushDispatcher,
    private readonly pushLimitPerDay: number,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Whether a push request can reach this user's phone: as a notification (or the tenant's webhook),
   * or in the list of an enrolled Passport whose notifications are off.
   */
  async canPush(tenant: Tenant, userId: string): Promise<boolean> {
    const reach = await this.push.reach(tenant, userId);
    return reach.notify || reach.passport;
  }

  /**
   * `delivered`: for a push, how many channels (push services, webhook) accepted it. `inPassport`:
   * the user has an enrolled Passport, which lists the request while it is open, notified or not.
   */
  async start(input: StartInput, now = Date.now()): Promise<{ request: CrossDeviceRequest; bindingSecret: string; delivered?: number; inPassport?: boolean }> {
    let inPassport: boolean | undefined;
    if (input.kind === 'push') {
      if (!input.userId) throw badRequest('Enter your e-mail address first, so we know which phone to ask.', 'email_required');
      const reach = await this.push.reach(input.tenant, input.userId);
      if (!reach.notify && !reach.passport) {
        throw conflict('No phone is set up for push on this account yet. Scan the QR code with your phone instead, or enrol it in Passport.', 'no_push_device');
      }
      inPassport = reach.passport;
    }
    const bindingSecret = randomId(32);
    const { number, choices } = drawNumbers();
    const request: CrossDeviceRequest = {
      id: randomId(16),
      tenantId: input.tenant.id,
      interactionUid: input.interactionUid,
      browserBinding: hash(bindingSecret),
      kind: input.kind,
      userId: input.userId ?? null,
      number,
      choices,
      status: 'pending',
      numberConfirmed: false,
      clientName: input.clientName,
      desktopUserAgent: input.userAgent.slice(0, 512),
      desktopIp: input.ip,
      approvedUserId: null,
      approvedAmr: null,
      createdAt: now,
      expiresAt: now + REQUEST_TTL_MS,
      resolvedAt: null,
      failureReason: null,
    };
    if (input.kind === 'qr') {
      await this.requests.insert(request);
      await this.requests.recordEvent({ tenantId: request.tenantId, requestId: request.id, userId: request.userId, type: 'qr_shown', at: now });
      return { request, bindingSecret };
    }
    const refused = await this.requests.insertPushWithinLimits({ ...request, userId: input.userId! }, {
      perMinute: PUSHES_PER_MINUTE, perDay: this.pushLimitPerDay, pauseAfterRefusalMs: PUSH_PAUSE_AFTER_REFUSAL_MS,
    });
    if (refused) throw tooManyRequests(PUSH_REFUSED[refused.reason], (refused.retryAt - now) / 1000);
    const delivered = await this.push.announce(input.tenant, request, now);
    await this.audit.record({ type: 'push.sent', tenantId: request.tenantId, userId: input.userId, detail: { requestId: request.id, delivered, inPassport: inPassport ?? false } });
    return { request, bindingSecret, delivered, inPassport };
  }

  /** The request with expiry applied (a due pending request is moved to `expired` and recorded, once). */
  async find(tenantId: string, id: string, now = Date.now()): Promise<CrossDeviceRequest> {
    const request = await this.requests.find(tenantId, id);
    if (!request) throw notFound('This sign-in request does not exist. Start again on your computer.', 'unknown_request');
    if (request.status === 'pending' && request.expiresAt <= now) {
      await this.expire(request, now);
      return { ...request, status: 'expired' };
    }
    return request;
  }

  async expire(request: CrossDeviceRequest, now = Date.now()): Promise<void> {
    if (await this.requests.transition(request.tenantId, request.id, ['pending'], 'expired', now, { expiry: 'due' })) {
      await this.requests.recordEvent({ tenantId: request.tenantId, requestId: request.id, userId: request.userId, type: 'expired', at: now });
      await this.waiters.changed(request.id);
    }
  }

  async details(tenantId: string, id: string): Promise<RequestDetails> {
    const request = await this.find(tenantId, id);
    // The account the desktop named: the phone says which passkey it needs (and that it has none).
    const account = request.userId ? (await this.passkeys.findUser(tenantId, request.userId))?.email : undefined;
    return {
      id: request.id,
      tenant: request.tenantId,
      kind: request.kind,
      status: request.status,
      clientName: request.clientName,
      ...describeBrowser(request.desktopUserAgent),
      ip: request.desktopIp,
      createdAt: new Date(request.createdAt).toISOString(),
      expiresAt: new Date(request.expiresAt).toISOString(),
      choices: request.choices,
      ...(request.status === 'failed' && request.failureReason ? { reason: request.failureReason } : {}),
      ...(account ? { account } : {}),
    };
  }

  /**
   * The phone picks a number. A wrong pick ends the request (recorded, the desktop is told); the
   * right one returns the passkey options for the approval, bound to this request.
   */
  async choose(tenant: Tenant, id: string, picked: number, now = Date.now()): Promise<CeremonyStart<PublicKeyCredentialRequestOptionsJSON>> {
    const request = await this.pickNumber(tenant.id, id, picked, now);
    return this.passkeys.startSignIn(tenant, approvalBinding(id), request.userId ? { userId: request.userId } : {});
  }

  /**
   * Checks the number the phone picked, whatever proof follows (a passkey, a UAF authenticator):
   * a wrong pick ends the request, the right one is recorded so only then can an approval count.
   */
  async pickNumber(tenantId: string, id: string, picked: number, now = Date.now()): Promise<CrossDeviceRequest> {
    const request = await this.requirePending(tenantId, id, now);
    if (picked !== request.number) {
      if (await this.requests.transition(tenantId, id, ['pending'], 'failed', now, { failureReason: 'wrong_number' })) {
        await this.requests.recordEvent({ tenantId, requestId: id, userId: request.userId, type: 'wrong_number', detail: String(picked), at: now });
        await this.audit.record({ type: 'push.wrong_number', tenantId, userId: request.userId ?? undefined, detail: { requestId: id, kind: request.kind } });
        await this.waiters.changed(id);
      }
      throw badRequest('That is not the number shown on your computer, so this request was cancelled to keep your account safe. If it was you, start again on the computer.', 'wrong_number');
    }
    if (!(await this.requests.confirmNumber(tenantId, id, now))) throw this.noLongerPending();
    return request;
  }

  async approve(tenant: Tenant, id: string, input: { challengeId: string; response: AuthenticationResponse }, now = Date.now()): Promise<void> {
    const request = await this.requirePending(tenant.id, id, now);
    if (!request.numberConfirmed) throw badRequest('Pick the number shown on your computer first.', 'number_required');
    // With a username, the challenge was issued for that user (choose), so another account's passkey is refused there.
    const signedIn = await this.passkeys.finishSignIn(tenant, approvalBinding(id), input);
    await this.recordApproval(tenant.id, request, { userId: signedIn.user.id, email: signedIn.user.email, credentialId: signedIn.credentialId, amr: signedIn.amr }, now);
  }

  /**
   * An approval proved by another protocol (a FIDO UAF authenticator, src/crossdevice/uaf-approval.ts):
   * the caller verified the signature over this request; the number must have been picked first.
   */
  async approveVerified(tenantId: string, id: string, approval: Approval, now = Date.now()): Promise<void> {
    const request = await this.requirePending(tenantId, id, now);
    if (!request.numberConfirmed) throw badRequest('Pick the number shown on your computer first.', 'number_required');
    if (request.userId && request.userId !== approval.userId) throw forbidden('This sign-in request is for another account.', 'wrong_account');
    // A passkey approval meets this in finishSignIn; a key of another protocol knows nothing of the account's state.
    await this.requireOpenAccount(tenantId, approval.userId);
    await this.recordApproval(tenantId, request, approval, now);
  }

  /** Refuses an account that is disabled, closed or gone: its phone approves nothing, and its approval signs nobody in. */
  async requireOpenAccount(tenantId: string, userId: string): Promise<void> {
    if (!await this.passkeys.findUser(tenantId, userId)) throw forbidden(ACCOUNT_DISABLED, 'account_disabled');
  }

  private async recordApproval(tenantId: string, request: CrossDeviceRequest, approval: Approval, now: number): Promise<void> {
    // mca (RFC 8176): more than one channel — the desktop browser and the phone.
    const amr = ['mca', ...approval.amr];
    if (!(await this.requests.transition(tenantId, request.id, ['pending'], 'approved', now, { approvedUserId: approval.userId, approvedAmr: amr }))) {
      throw this.noLongerPending();
    }
    await this.requests.recordEvent({ tenantId, requestId: request.id, userId: approval.userId, type: 'approved', detail: approval.credentialId, at: now });
    await this.audit.record({ type: 'push.approved', tenantId, userId: approval.userId, email: approval.email, detail: { requestId: request.id, kind: request.kind, credentialId: approval.credentialId } });
    await this.waiters.changed(request.id);
  }

  async deny(tenantId: string, id: string, now = Date.now()): Promise<void> {
    const request = await this.requirePending(tenantId, id, now);
    if (!(await this.requests.transition(tenantId, id, ['pending'], 'denied', now))) throw this.noLongerPending();
    await this.requests.recordEvent({ tenantId, requestId: id, userId: request.userId, type: 'denied', at: now });
    await this.audit.record({ type: 'push.denied', tenantId, userId: request.userId ?? undefined, detail: { requestId: id, kind: request.kind } });
    await this.waiters.changed(id);
  }

  /**
   * The phone page reports that its passkey prompt ended without a passkey (the phone has none for
   * the account), so the desktop stops waiting at once. Only after the right number was picked —
   * the prompt comes after it — and only from pending; it ends nothing that deny could not.
   */
  async reportNoPasskey(tenantId: string, id: string, now = Date.now()): Promise<void> {
    const request = await this.requirePending(tenantId, id, now);
    if (!request.numberConfirmed) throw badRequest('Pick the number shown on your computer first.', 'number_required');
    if (!(await this.requests.transition(tenantId, id, ['pending'], 'failed', now, { failureReason: 'no_passkey_on_phone' }))) throw this.noLongerPending();
    await this.requests.recordEvent({ tenantId, requestId: id, userId: request.userId, type: 'no_passkey_on_phone', at: now });
    await this.waiters.changed(id);
  }

  /** The desktop gives up (cancel button, or a new code replaces this one). */
  async cancel(tenantId: string, id: string, interactionUid: string, bindingSecret: string | undefined, now = Date.now()): Promise<void> {
    const request = await this.find(tenantId, id, now);
    assertBoundTo(request, interactionUid, bindingSecret);
    if (await this.requests.transition(tenantId, id, ['pending'], 'cancelled', now)) {
      await this.requests.recordEvent({ tenantId, requestId: id, userId: request.userId, type: 'cancelled', at: now });
      await this.waiters.changed(id);
    }
  }

  /** Status for the desktop that started the request (and nobody else). */
  async statusForDesktop(tenantId: string, id: string, interactionUid: string, bindingSecret: string | undefined): Promise<CrossDeviceRequest> {
    const request = await this.find(tenantId, id);
    assertBoundTo(request, interactionUid, bindingSecret);
    return request;
  }

  /**
   * Turns an approval into the desktop's sign-in, once, in the browser that started it. The phone's
   * passkey (recorded with the approval) is returned too: the desktop's session is ended with it.
   */
  async complete(tenantId: string, id: string, interactionUid: string, bindingSecret: string | undefined, now = Date.now()): Promise<{ userId: string; amr: string[]; credentialId?: string }> {
    const request = await this.requests.find(tenantId, id);
    if (!request) throw notFound('This sign-in request does not exist.', 'unknown_request');
    assertBoundTo(request, interactionUid, bindingSecret);
    if (request.status !== 'approved') throw conflict(statusMessage(request.status, request.failureReason), `request_${request.status}`);
    // The approval happened inside the 2-minute window; the desktop must redeem it promptly after.
    if (now - (request.resolvedAt ?? 0) > REDEEM_WITHIN_MS) throw conflict('This approval is too old. Ask for a new code.', 'request_expired');
    // The account may have been disabled between the phone's approval and now.
    await this.requireOpenAccount(tenantId, request.approvedUserId!);
    if (!(await this.requests.transition(tenantId, id, ['approved'], 'completed', now, { expiry: 'any' }))) {
      throw conflict('This approval was already used.', 'request_completed');
    }
    await this.requests.recordEvent({ tenantId, requestId: id, userId: request.approvedUserId, type: 'completed', at: now });
    const approval = (await this.requests.eventsFor(tenantId, id)).find((e) => e.type === 'approved');
    return { userId: request.approvedUserId!, amr: request.approvedAmr ?? ['mca'], credentialId: approval?.detail || undefined };
  }

  waitForChange(id: string, onChange: () => void): () => void {
    return this.waiters.wait(id, onChange);
  }

  /**
   * Background housekeeping: expires due requests (so "expired" is recorded even when nobody looks)
   * and deletes finished requests after a day (their events remain).
   */
  async housekeeping(now = Date.now()): Promise<void> {
    for (const request of await this.requests.listDuePending(now)) await this.expire(request, now);
    await this.requests.deleteResolvedBefore(now - RETAIN_FINISHED_MS);
  }

  private async requirePending(tenantId: string, id: string, now: number): Promise<CrossDeviceRequest> {
    const request = await this.find(tenantId, id, now);
    if (request.status !== 'pending') throw new SesameError(`request_${request.status}`, request.status === 'expired' ? 410 : 409, statusMessage(request.status, request.failureReason));
    return request;
  }

  private noLongerPending(): SesameError {
    return conflict('This sign-in request was already answered.', 'request_answered');
  }
}

export function statusMessage(status: CrossDeviceStatus, reason?: FailureReason | null): string {
  switch (status) {
    case 'pending': return 'Waiting for your phone…';
    case 'approved': return 'Approved on your phone. Signing you in…';
    case 'completed': return 'This request was approved and used to sign in.';
    case 'denied': return 'The request was denied on the phone.';
    case 'failed': return reason === 'no_passkey_on_phone'
      ? 'Your phone has no passkey for this account. Try another way: a passkey on this computer, or a phone that has one.'
      : 'The wrong number was picked on the phone, so the request was cancelled.';
    case 'cancelled': return 'This request was cancelled.';
    case 'expired': return 'This code has expired. Ask for a new one.';
  }
}

/** Approvals are WebAuthn ceremonies bound to the request (not to an OIDC interaction). */
export const approvalBinding = (requestId: string) => `xd:${requestId}`;

function hash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function assertBoundTo(request: CrossDeviceRequest, interactionUid: string, bindingSecret: string | undefined): void {
  const expected = Buffer.from(request.browserBinding);
  const presented = Buffer.from(bindingSecret ? hash(bindingSecret) : '');
  if (request.interactionUid !== interactionUid || expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
    throw forbidden('This sign-in request belongs to another browser.', 'wrong_browser');
  }
}
