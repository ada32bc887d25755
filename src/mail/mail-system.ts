import path from 'node:path';
import type { Config } from '../config.js';
import type { Database } from '../storage/db.js';
import type { Logger } from '../log.js';
import { MailOutboxRepository } from '../storage/repositories/mail-outbox.js';
import { MailService } from './mail-service.js';
import { DEFAULT_TUNING, MailWorker, type MailWorkerTuning } from './mail-worker.js';
import { devOutboxTransport, smtpTransport, type MailTransport } from './transports.js';

/** Where the dev outbox keeps its .eml files. */
export const devOutboxDir = (config: Config) => path.join(config.dataDir, 'outbox');

/**
 * The mail service and its worker. Without a transport (an https deployment without SMTP_URL) there
 * is no worker: mails wait in the outbox until SMTP_URL is set, and the server warns at start.
 */
export function createMailSystem(config: Config, database: Database, log: Logger, tuning: Partial<MailWorkerTuning> = {}) {
  const outbox = new MailOutboxRepository(database.db, database.dialect);
  const transport: MailTransport | undefined = config.mail.smtp ? smtpTransport(config.mail.smtp)
    : config.mail.devOutbox ? devOutboxTransport(devOutboxDir(config))
    : undefined;
  const worker = transport && new MailWorker(outbox, transport, database.secrets, log, {
    publicUrl: config.publicUrl,
    from: config.mail.from,
    tuning: { ...DEFAULT_TUNING, ...tuning },
  });
  return { outbox, worker, service: new MailService(outbox, database.secrets, () => worker?.wake()) };
}
