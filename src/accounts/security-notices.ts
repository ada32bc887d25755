import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import type { MailService } from '../mail/mail-service.js';
import type { SecurityEvent } from '../mail/templates.js';
import type { UserDeviceRepository } from '../storage/repositories/user-devices.js';
import type { User } from '../storage/repositories/users.js';
import { describeBrowser } from '../crossdevice/describe-browser.js';

/** A browser not seen for a user this long counts as new again. */
export const NEW_DEVICE_AFTER_DAYS = 90;

/** Where the action happened, as the person's browser said it. */
export interface ActionContext {
  userAgent: string;
  /** IANA time zone from the browser (Intl); the mail says UTC without one. */
  timeZone?: string;
}

/**
 * Mails that tell a person about changes to how their account is signed in to (a passkey added or
 * removed, a phone set up, a sign-in from a new browser). They inform; they never stand in the way:
 * a mail that cannot be queued is logged, and the action it reports has happened all the same.
 */
export class SecurityNotices {
  constructor(
    private readonly mail: MailService,
    private readonly devices: UserDeviceRepository,
    private readonly log: Logger,
  ) {}

  async notify(user: User, event: SecurityEvent, context: ActionContext, deviceName?: string): Promise<void> {
    const { browser, os } = describeBrowser(context.userAgent);
    try {
      await this.mail.enqueue({
        tenantId: user.tenantId,
        to: user.email,
        template: 'security-notice',
        data: {
          event,
          at: Date.now(),
          ...(validTimeZone(context.timeZone) ? { timeZone: context.timeZone } : {}),
          browser,
          system: os,
          ...(deviceName ? { deviceName: deviceName.slice(0, 200) } : {}),
          displayName: user.displayName.slice(0, 200) || undefined,
        },
      });
    } catch (err) {
      this.log.warn({ err, tenantId: user.tenantId, event }, 'a security notice could not be queued');
    }
  }

  /**
   * "New device" = a browser and system pair (name without version: "Chrome|Windows 10") this user
   * has not signed in from for 90 days. Simple on purpose: no cookie or fingerprint to keep, and a
   * browser update does not count as a new device. A new account records its first browser quietly.
   */
  async signedIn(user: User, context: ActionContext, options: { firstSignIn?: boolean } = {}): Promise<void> {
    const now = Date.now();
    try {
      const isNew = await this.devices.recordSignIn(user.tenantId, user.id, deviceKey(context.userAgent), now, now - NEW_DEVICE_AFTER_DAYS * 86_400_000);
      if (isNew && !options.firstSignIn) await this.notify(user, 'new-device-sign-in', context);
    } catch (err) {
      this.log.warn({ err, tenantId: user.tenantId }, 'recording the sign-in device failed');
    }
  }
}

function deviceKey(userAgent: string): string {
  const { browser, os } = describeBrowser(userAgent);
  return createHash('sha256').update(`${browser.replace(/ [\d.]+$/, '')}|${os}`).digest('base64url');
}

function validTimeZone(timeZone: string | undefined): timeZone is string {
  if (!timeZone) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
