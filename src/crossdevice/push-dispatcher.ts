import type https from 'node:https';
import webpush from 'web-push';
import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { Tenant } from '../storage/repositories/tenants.js';
import type { CrossDeviceRepository, CrossDeviceRequest } from '../storage/repositories/crossdevice.js';
import type { PassportDeviceRepository } from '../storage/repositories/passport-devices.js';
import type { Logger } from '../log.js';
import { loadOrCreateVapidKeys, type VapidKeys } from './vapid.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

export interface PushOptions {
  publicUrl: string;
  vapidSubject: string;
  /** https agent for Web Push (tests trust their own push service with it). */
  agent?: https.Agent;
  /** Opens the stored VAPID private key. */
  secrets: SecretBox;
}

const SEND_TIMEOUT_MS = 5000;

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

  async canReach(tenant: Tenant, userId: string): Promise<boolean> {
    if (tenant.webhookUrl) return true;
    return (await this.devices.listByUser(tenant.id, userId)).some((d) => d.pushSubscription);
  }

  /** Sends the request to every channel; answers how many accepted it (push services and the webhook). */
  async announce(tenant: Tenant, request: CrossDeviceRequest, now: number): Promise<number> {
    const devices = await this.devices.listByUser(tenant.id, request.userId!);
    const vapid = await this.vapidKeys();
    const payload = JSON.stringify({ requestId: request.id });
    const results = await Promise.all(devices.filter((d) => d.pushSubscription).map(async (device) => {
      try {
        const result = await webpush.sendNotification(device.pushSubscription!, payload, {
          vapidDetails: { subject: this.options.vapidSubject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
          TTL: Math.ceil((request.expiresAt - now) / 1000),
          urgency: 'high',
          timeout: SEND_TIMEOUT_MS,
          ...(this.options.agent ? { agent: this.options.agent } : {}),
        });
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
      const response = await fetch(tenant.webhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(tenant.webhookSecret!, body) },
        body,
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      await this.record(request, null, response.ok ? 'webhook_sent' : 'webhook_failed', `HTTP ${response.status}`);
      return response.ok;
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
