import { z } from 'zod';
import { badRequest } from '../errors.js';
import { randomId } from '../ids.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { sealedColumn } from '../secrets/sealed-columns.js';
import type { MailOutboxRepository } from '../storage/repositories/mail-outbox.js';
import { templateSchemas, type TemplateData, type TemplateName } from './templates.js';

/** The tenant id of the operator's own mails (onboarding, invitations to the console): they come from Sesame. */
export const OPERATOR_MAIL = '*';
/** The sender's display name of those mails. */
export const OPERATOR_MAIL_NAME = 'Sesame';

/** One mail to queue; `data` is typed by `template` (see TemplateData in ./templates.ts). */
export type MailRequest = {
  [T in TemplateName]: { tenantId: string; to: string; template: T; data: TemplateData[T] };
}[TemplateName];

const address = z.string().max(254).email();

/**
 * Queues mails. `enqueue` only writes the outbox row (the template data sealed, as it holds codes)
 * and wakes this node's worker: a request never waits on SMTP, and a mail is not lost when SMTP is down.
 */
export class MailService {
  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly secrets: SecretBox,
    private readonly onQueued: () => void,
  ) {}

  async enqueue(mail: MailRequest): Promise<{ id: string }> {
    if (!address.safeParse(mail.to).success) throw badRequest('This e-mail address cannot receive mail. Check it for typing errors.', 'invalid_email');
    const parsed = templateSchemas[mail.template].safeParse(mail.data);
    if (!parsed.success) throw new TypeError(`The data of the "${mail.template}" mail is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const id = randomId();
    await this.outbox.insert({
      id,
      tenantId: mail.tenantId,
      recipient: mail.to,
      template: mail.template,
      data: this.secrets.seal(JSON.stringify(parsed.data), sealedColumn.mailData(id)),
      createdAt: Date.now(),
    });
    this.onQueued();
    return { id };
  }
}
