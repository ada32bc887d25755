import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { RunningServer } from '../../src/server.js';
import { freePort } from './server.js';
import { listDevOutbox } from '../../src/mail/dev-outbox.js';
import { devOutboxDir } from '../../src/mail/mail-system.js';
import { sealedColumn } from '../../src/secrets/sealed-columns.js';
import type { DevOutboxEntry } from '../../src/mail/transports.js';

/**
 * Tests read Sesame's mails as a person would read their inbox: from the dev outbox folder the
 * server writes (a localhost PUBLIC_URL without SMTP), or — where nothing sends mail (https without
 * SMTP_URL) — from the outbox table, opened with the server's own key. Servers are found by origin,
 * so helpers that only hold a UserAgent can read the code the server sent.
 */
type Services = RunningServer['services'];
const servers = new Map<string, Services>();

export function registerMailbox(origin: string, services: Services): void {
  servers.set(new URL(origin).origin, services);
}

export function unregisterMailbox(origin: string): void {
  servers.delete(new URL(origin).origin);
}

function servicesOf(origin: string): Services {
  const services = servers.get(new URL(origin).origin);
  if (!services) throw new Error(`no test server registered for ${origin}: start it with startTestServer`);
  return services;
}

/** Mails to `to` in the dev outbox, oldest first. */
export async function devMails(origin: string, to: string): Promise<DevOutboxEntry[]> {
  const services = servicesOf(origin);
  return (await listDevOutbox(devOutboxDir(services.config))).filter((m) => m.to === to).reverse();
}

export interface VerificationMail { code: string; link: string }

/** The newest verification mail to `to` queued at or after `since` (waits for the mail worker). */
export async function verificationMail(origin: string, to: string, since: number, timeoutMs = 10_000): Promise<VerificationMail> {
  const services = servicesOf(origin);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await services.database.db.selectFrom('mail_outbox').select(['id', 'data', 'created_at'])
      .where('recipient', '=', to).where('template', '=', 'verify-email').where('created_at', '>=', since)
      .orderBy('created_at', 'desc').execute();
    const unsent = rows.find((r) => r.data !== '');
    if (unsent && rows[0].id === unsent.id) {
      const data = JSON.parse(services.database.secrets.open(unsent.data, sealedColumn.mailData(unsent.id))) as VerificationMail;
      return { code: data.code, link: data.link };
    }
    if (services.config.mail.devOutbox && rows.length > 0) {
      const entry = (await listDevOutbox(devOutboxDir(services.config))).find((m) => m.id === rows[0].id);
      if (entry) {
        const code = /^\s*(\d{6})\s*$/m.exec(entry.text)?.[1];
        const link = /(https?:\/\/\S+\/verify-email\?\S+)/.exec(entry.text)?.[1];
        if (code && link) return { code, link };
      }
    }
    if (Date.now() > deadline) throw new Error(`no verification mail to ${to}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The data of the newest mail of `template` to `to` queued at or after `since` (waits for it), read from
 * the outbox with the server's key before the worker sends it, or from the dev outbox's text after.
 */
export async function queuedMail<T = Record<string, unknown>>(origin: string, to: string, template: string, since: number, timeoutMs = 10_000): Promise<{ data?: T; text?: string }> {
  const services = servicesOf(origin);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await services.database.db.selectFrom('mail_outbox').select(['id', 'data'])
      .where('recipient', '=', to).where('template', '=', template).where('created_at', '>=', since)
      .orderBy('created_at', 'desc').execute();
    const newest = rows[0];
    if (newest && newest.data !== '') return { data: JSON.parse(services.database.secrets.open(newest.data, sealedColumn.mailData(newest.id))) as T };
    if (newest && services.config.mail.devOutbox) {
      const entry = (await listDevOutbox(devOutboxDir(services.config))).find((m) => m.id === newest.id);
      if (entry) return { text: entry.text };
    }
    if (Date.now() > deadline) throw new Error(`no ${template} mail to ${to}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first link to Sesame (`origin`) in a mail's data or text that contains `path`. */
export async function mailedLink(origin: string, to: string, template: string, since: number, path: string): Promise<string> {
  const mail = await queuedMail<{ link?: string }>(origin, to, template, since);
  const link = mail.data?.link ?? new RegExp(`(https?://\\S*${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S*)`).exec(mail.text ?? '')?.[1];
  if (!link) throw new Error(`the ${template} mail to ${to} holds no ${path} link`);
  return link;
}

export interface TestSmtp {
  port: number;
  received: ParsedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server in this process. `auth` makes it require AUTH; `rejectFirst` answers that many
 * recipients with 451 (try again later) before accepting mail.
 */
export async function startSmtp(options: { port?: number; auth?: { user: string; pass: string }; rejectFirst?: number } = {}): Promise<TestSmtp> {
  const received: ParsedMail[] = [];
  let rejections = options.rejectFirst ?? 0;
  const server = new SMTPServer({
    logger: false,
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass) return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      if (rejections > 0) {
        rejections -= 1;
        return callback(Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 }));
      }
      return callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => { received.push(mail); callback(); }, callback);
    },
  });
  const port = options.port ?? await freePort();
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
  return { port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The newest mail the SMTP server received for `to` whose subject matches, waiting for it (the worker sends in the background). */
export async function receivedMail(smtp: TestSmtp, to: string, subject: RegExp, timeoutMs = 10_000): Promise<ParsedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = [...smtp.received].reverse().find((m) => m.to && (Array.isArray(m.to) ? m.to : [m.to]).some((a) => a.value.some((v) => v.address === to)) && subject.test(m.subject ?? ''));
    if (mail) return mail;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} with a subject like ${subject}; received: ${smtp.received.map((m) => m.subject).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
