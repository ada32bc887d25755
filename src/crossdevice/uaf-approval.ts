import { badRequest, forbidden } from '../errors.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import type { AuthenticationRequest } from '../uaf/messages.js';
import { uafCredentialId, type UafAuthenticated, type UafService } from '../uaf/uaf-service.js';
import type { CrossDeviceService, RequestDetails } from './crossdevice-service.js';

/** The authenticator shows at most this much transaction text (UAF's text/plain transactions: 200 characters). */
const MAX_TEXT = 200;

/**
 * A phone whose Passport is a FIDO UAF authenticator approves a cross-device sign-in: after the
 * number is picked, Sesame sends a UAF Auth request whose transaction text says what is being
 * approved — the application, the browser and where it is — and the authenticator shows that text
 * and signs its hash. Only an assertion that confirmed the text approves the request.
 */
export class UafApproval {
  constructor(private readonly crossDevice: CrossDeviceService, private readonly uaf: UafService) {}

  /** The Auth request for the device's keys, once the phone picked the right number. */
  async start(tenant: Tenant, device: { userId: string }, requestId: string, number: number, now = Date.now()): Promise<AuthenticationRequest[]> {
    const request = await this.crossDevice.find(tenant.id, requestId, now);
    // A request for a named account is approved by that account's phone only (checked before the number is spent).
    if (request.userId && request.userId !== device.userId) throw forbidden('This sign-in request is for another account.', 'wrong_account');
    await this.crossDevice.requireOpenAccount(tenant.id, device.userId);
    await this.crossDevice.pickNumber(tenant.id, requestId, number, now);
    const details = await this.crossDevice.details(tenant.id, requestId);
    return this.uaf.startAuthentication(tenant, { userId: device.userId, transactionText: confirmationText(details), payload: { crossDeviceRequest: requestId } }, now);
  }

  /**
   * Verifies a UAF Auth response; when its challenge was issued for a cross-device request, the
   * request is approved with the amr the authenticator earned.
   */
  async finish(tenant: Tenant, uafResponse: string, now = Date.now()): Promise<UafAuthenticated & { approvedRequest?: string }> {
    const result = await this.uaf.finishAuthentication(tenant, uafResponse, now);
    const requestId = result.payload.crossDeviceRequest;
    if (typeof requestId !== 'string') return result;
    if (!result.transactionConfirmed) throw badRequest('The authenticator did not show and confirm the sign-in details, so the request was not approved.', 'uaf_transaction');
    await this.crossDevice.approveVerified(tenant.id, requestId, { userId: result.userId, credentialId: uafCredentialId(result.aaid, result.keyId), amr: uafAmr(result) }, now);
    return { ...result, approvedRequest: requestId };
  }
}

/**
 * RFC 8176 values for a UAF approval. UAF keys never leave their authenticator, but only a basic
 * full attestation verified to a root the operator trusts says the authenticator is hardware (hwk);
 * a surrogate (self) attestation says nothing about where the key lives (swk).
 */
export function uafAmr(result: Pick<UafAuthenticated, 'attested' | 'userVerified'>): string[] {
  return [result.attested ? 'hwk' : 'swk', ...(result.userVerified ? ['user', 'mfa'] : [])];
}

/** What the authenticator shows before it signs: who asks to sign in, from which browser, from where. */
export function confirmationText(details: Pick<RequestDetails, 'clientName' | 'browser' | 'os' | 'ip' | 'createdAt'>): string {
  const at = details.createdAt.slice(11, 16);
  const text = `Sign in to ${details.clientName}?\nFrom ${details.browser} on ${details.os}\nIP address ${details.ip}, at ${at} UTC`;
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}
