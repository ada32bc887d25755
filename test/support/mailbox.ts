import type { RunningServer } from '../../src/server.js';
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
