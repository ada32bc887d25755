import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import type { CrossDeviceRepository, CrossDeviceRequest } from '../storage/repositories/crossdevice.js';
import type { PassportDeviceRepository, PushSubscriptionJSON } from '../storage/repositories/passport-devices.js';
import type { Logger } from '../log.js';
import { loadOrCreateVapidKeys, type VapidKeys } from './vapid.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';
import { checkPushEndpoint, isKnownPushService } from './push-services.js';
import type { OutboundClient } from '../net/outbound.js';

export interface PushOptions {
  publicUrl: string;
  vapidSubject: string;
  /** Opens the stored VAPID private key. */
  secrets: SecretBox;
  /** Web Push services deliveries may go to (config.pushServiceHosts). */
  pushServiceHosts: readonly string[];
  /** Every delivery and webhook call goes through it: https, public addresses, timeouts, size cap. */
  outbound: OutboundClient;
}

/**
 * Announces a push request to the user's phones: Web Push (VAPID, aes128gcm-encrypted payload that
 * carries only the request id) to every enrolled Passport subscription, and a signed webhook to the
 * tenant's URL for native apps (FCM/APNs gateways). Every attempt is recorded.
 */
export class PushDispatcher {
  private vapid: Promise<VapidKeys> | undefined;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly devices: PassportDeviceRepository,
    private readonly events: CrossDeviceRepository,
    private readonly options: PushOptions,
    private readonly log: Logger,
  ) {}

  vapidKeys(): Promise<VapidKeys> {
    this.vapid ??= loadOrCreateVapidKeys(this.db, this.options.secrets).catch((error) => { this.vapid = undefined; throw error; });
    return this.vapid;
  }

  /** Refuses (400) a subscription whose endpoint is not a known push service, before it is stored. */
  checkSubscription(subscription: PushSubscriptionJSON | null | undefined): void {
    if (subscription) checkPushEndpoint(this.options.pushServiceHosts, subscription.endpoint);
  }

  /**
   * How a push request can reach this user: `notify`, as a notification (a phone with notifications
   * on, or the tenant's webhook); `passport`, in the list of an enrolled Passport, shown while it is open.
   */
  async reach(tenant: Tenant, userId: string): Promise<{ notify: boolean; passport: boolean }> {
    const devices = await this.devices.listByUser(tenant.id, userId);
    return { notify: Boolean(tenant.webhookUrl) || devices.some((d) => d.pushSubscription), passport: devices.length > 0 };
  }

  /** Sends the request to every channel; answers how many accepted it (push services and the webhook). */
  async announce(tenant: Tenant, request: CrossDeviceRequest, now: number): Promise<number> {
    const devices = await this.devices.listByUser(tenant.id, request.userId!);
    const vapid = await this.vapidKeys();
    const payload = JSON.stringify({ requestId: request.id });
    const results = await Promise.all(devices.filter((d) => d.pushSubscription).map(async (device) => {
      try {
        const result = await this.sendPush(device.pushSubscription!, payload, vapid, Math.ceil((request.expiresAt - now) / 1000));
        await this.record(request, device.id, 'push_sent', `HTTP ${result.statusCode}`);
        return true;
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        // 404/410: the browser dropped the subscription; stop sending to it.
        if (status === 404 || status === 410) await this.devices.updatePushSubscription(tenant.id, device.id, null);
        await this.record(request, device.id, 'push_failed', status ? `HTTP ${status}` : (error as Error).message);
        this.log.warn({ tenant: tenant.id, device: device.id, status }, 'web push failed');
        return false;
      }
    }));
    const webhook = tenant.webhookUrl && tenant.webhookSecret ? await this.callWebhook(tenant, request, devices.map((d) => d.id)) : false;
    return results.filter(Boolean).length + (webhook ? 1 : 0);
  }

  /** Posts one Web Push message; a non-2xx answer (a redirect included: it is not followed) rejects with its status. */
  private async sendPush(subscription: PushSubscriptionJSON, payload: string, vapid: VapidKeys, ttlSeconds: number): Promise<{ statusCode: number }> {
    if (!isKnownPushService(this.options.pushServiceHosts, subscription.endpoint)) throw new Error('not a known push service');
    // Loaded with the first push: a server that never sends one does not carry web-push.
    const { default: webpush } = await import('web-push');
    const details = webpush.generateRequestDetails(subscription, payload, {
      vapidDetails: { subject: this.options.vapidSubject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
      TTL: ttlSeconds,
      urgency: 'high',
    });
    const response = await this.options.outbound.request({ url: details.endpoint, method: details.method, headers: details.headers as Record<string, string | number>, body: details.body });
    if (response.status < 200 || response.status > 299) throw Object.assign(new Error(`HTTP ${response.status}`), { statusCode: response.status });
    return { statusCode: response.status };
  }

  private async callWebhook(tenant: Tenant, request: CrossDeviceRequest, deviceIds: string[]): Promise<boolean> {
    const body = JSON.stringify({
      type: 'crossdevice.request',
      tenant: tenant.id,
      requestId: request.id,
      userId: request.userId,
      deviceIds,
      link: `${this.options.publicUrl}/${tenant.id}/x/${request.id}`,
      expiresAt: new Date(request.expiresAt).toISOString(),
    });
    try {
      const response = await this.options.outbound.request({
        url: tenant.webhookUrl!,
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(tenant.webhookSecret!, body) },
        body,
      });
      const ok = response.status >= 200 && response.status <= 299;
      await this.record(request, null, ok ? 'webhook_sent' : 'webhook_failed', `HTTP ${response.status}`);
      return ok;
    } catch (error) {
      await this.record(request, null, 'webhook_failed', (error as Error).message);
      this.log.warn({ tenant: tenant.id }, 'push webhook failed');
      return false;
    }
  }

  private record(request: CrossDeviceRequest, deviceId: string | null, type: string, detail: string): Promise<void> {
    return this.events.recordEvent({ tenantId: request.tenantId, requestId: request.id, userId: request.userId, deviceId, type, detail, at: Date.now() });
  }
}
