import type { Logger } from '../log.js';
import { randomId } from '../ids.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { sealedColumn } from '../secrets/sealed-columns.js';
import type { MailOutboxRepository, OutboxRow } from '../storage/repositories/mail-outbox.js';
import { DEFAULT_BACKOFF, nextAttemptAt, type Backoff } from './backoff.js';
import { brandingOf } from '../tenants/branding.js';
import { OPERATOR_MAIL, OPERATOR_MAIL_NAME } from './mail-service.js';
import { renderMail, type MailBranding } from './render-mail.js';
import type { TemplateName } from './templates.js';
import type { MailTransport, OutgoingMail } from './transports.js';

export interface MailWorkerTuning {
  /** How often the outbox is looked at besides the wake-up after each enqueue (mails of other nodes, retries). */
  pollIntervalMs: number;
  /** How long a claimed mail belongs to this worker; it must outlast a send (SMTP timeouts are 15–30 s). */
  leaseMs: number;
  /** Mails claimed and sent at once. */
  batchSize: number;
  backoff: Backoff;
}

export const DEFAULT_TUNING: MailWorkerTuning = { pollIntervalMs: 5_000, leaseMs: 120_000, batchSize: 10, backoff: DEFAULT_BACKOFF };

export interface MailWorkerOptions {
  publicUrl: string;
  /** Sender address; the display name is the tenant's name. */
  from: string;
  tuning: MailWorkerTuning;
}

/**
 * Sends what the outbox holds. Delivery is at least once: a mail is marked sent after SMTP accepted
 * it, so a crash between the two sends it again when its lease runs out. The resend carries the same
 * Message-ID (`<outbox id@public host>`) and Date, which lets a mail system or a reader recognise it.
 */
export class MailWorker {
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private draining: Promise<void> | undefined;
  private again = false;
  private poll: NodeJS.Timeout | undefined;
  private readonly host: string;

  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly transport: MailTransport,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
    private readonly options: MailWorkerOptions,
  ) {
    this.host = new URL(options.publicUrl).hostname.replace(/^\[|\]$/g, '');
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.log.info({ transport: this.transport.description }, 'mail worker started');
    this.poll = setInterval(() => this.wake(), this.options.tuning.pollIntervalMs);
    this.poll.unref();
    this.wake();
  }

  /** Looks at the outbox now (after an enqueue); a wake-up during a run makes it look once more. */
  wake(): void {
    if (this.state !== 'running') return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) this.wake(); // woken between the last look and the end of the run
    });
  }

  /** Waits for the sends in flight; what is not claimed yet stays queued for the next start. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.poll);
    await this.draining;
    this.transport.close();
  }

  private async drain(): Promise<void> {
    const { leaseMs, batchSize } = this.options.tuning;
    do {
      this.again = false;
      let claimed: OutboxRow[];
      const token = randomId();
      try {
        claimed = await this.outbox.claimDue({ now: Date.now(), leaseMs, limit: batchSize, token });
      } catch (err) {
        this.log.warn({ err }, 'reading the mail outbox failed; trying again at the next poll');
        return;
      }
      await Promise.all(claimed.map((row) => this.deliver(row, token)));
      if (claimed.length === batchSize) this.again = true;
    } while (this.again && this.state === 'running');
  }

  private async deliver(row: OutboxRow, token: string): Promise<void> {
    const mail = { mailId: row.id, tenantId: row.tenant_id, template: row.template, attempt: row.attempts };
    try {
      let outgoing: OutgoingMail;
      try {
        outgoing = await this.compose(row);
      } catch (err) {
        // Nothing a retry could change (the tenant is gone, the data no longer opens): give up now.
        await this.outbox.markFailed(row.id, token, errorText(err));
        this.log.error({ ...mail, err }, 'a queued mail cannot be composed; it is marked failed and will not be sent');
        return;
      }
      try {
        await this.transport.send(outgoing);
      } catch (err) {
        await this.failed(row, token, errorText(err), mail);
        return;
      }
      if (!await this.outbox.markSent(row.id, token, Date.now())) {
        this.log.warn(mail, 'a mail was sent after its lease ran out; another worker may send it again (same Message-ID)');
      }
    } catch (err) {
      // The outbox could not be written: the lease runs out and the mail is tried again.
      this.log.warn({ ...mail, err }, 'recording the outcome of a mail failed');
    }
  }

  private async failed(row: OutboxRow, token: string, error: string, mail: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    const next = nextAttemptAt({ attempts: row.attempts, now, createdAt: row.created_at, backoff: this.options.tuning.backoff });
    if (next === undefined) {
      await this.outbox.markFailed(row.id, token, error);
      this.log.error({ ...mail, error }, 'a mail could not be delivered in time; it is marked failed and will not be sent');
      return;
    }
    await this.outbox.markRetry(row.id, token, next, error);
    this.log.warn({ ...mail, error, retryInSeconds: Math.round((next - now) / 1000) }, 'sending a mail failed; it will be tried again');
  }

  private async compose(row: OutboxRow): Promise<OutgoingMail> {
    // The operator's own mails (onboarding, invitations to the console) come from Sesame, not from a tenant.
    const operator = row.tenant_id === OPERATOR_MAIL;
    const tenant = operator ? { id: OPERATOR_MAIL, name: OPERATOR_MAIL_NAME, brandColour: null, logoVersion: null } : await this.outbox.tenantBranding(row.tenant_id);
    if (tenant === undefined) throw new Error(`the tenant ${row.tenant_id} no longer exists`);
    const tenantName = tenant.name;
    const data = JSON.parse(this.secrets.open(row.data, sealedColumn.mailData(row.id)));
    const accountUrl = operator ? `${this.options.publicUrl}/admin` : `${this.options.publicUrl}/${encodeURIComponent(row.tenant_id)}/account`;
    const rendered = renderMail(row.template as TemplateName, data, { tenantName, accountUrl, branding: operator ? {} : mailBranding(tenant, this.options.publicUrl) });
    return {
      id: row.id,
      from: { name: tenantName, address: this.options.from },
      to: row.recipient,
      ...rendered,
      messageId: `<${row.id}@${this.host}>`,
      date: new Date(row.created_at),
      // Asks mail systems not to answer with out-of-office and similar replies (RFC 3834).
      headers: { 'Auto-Submitted': 'auto-generated' },
    };
  }
}

/** Mail clients cannot reach a relative path (and many block data: images): the logo's absolute URL. */
function mailBranding(tenant: Parameters<typeof brandingOf>[0], publicUrl: string): MailBranding {
  const branding = brandingOf(tenant);
  return { colour: branding.colour, textColour: branding.textColour, logoUrl: branding.logoPath && `${publicUrl}${branding.logoPath}` };
}

/** What is kept in last_error and logged: the transport's own words (an SMTP reply), bounded. */
function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}
