import fs from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';
import type { Transporter } from 'nodemailer';
import type { SmtpSettings } from '../config.js';

/** A composed mail, as nodemailer takes it. */
export interface OutgoingMail {
  id: string;
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  date: Date;
  headers: Record<string, string>;
}

/** Where the worker hands mails to: SMTP, or a developer's outbox folder. */
export interface MailTransport {
  /** For the log: never holds credentials. */
  readonly description: string;
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** Generous for a slow relay, yet well inside the worker's lease, so that a hung server cannot outlast it. */
const SMTP_TIMEOUTS = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000 };

/** nodemailer is loaded with the first mail: a server that has sent none does not carry it. */
const loadNodemailer = async () => (await import('nodemailer')).default;

export function smtpTransport(settings: SmtpSettings): MailTransport {
  const loopback = settings.host === 'localhost' || settings.host === '::1' || (net.isIPv4(settings.host) && settings.host.startsWith('127.'));
  let transporter: Promise<Transporter> | undefined;
  const connect = () => {
    transporter ??= loadNodemailer().then((nodemailer) => nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: settings.auth,
      // A password never crosses the network in the clear: smtp:// with credentials must upgrade with
      // STARTTLS (except to this machine, where nothing is on the wire).
      requireTLS: !settings.secure && settings.auth !== undefined && !loopback,
      ...SMTP_TIMEOUTS,
    }));
    return transporter;
  };
  return {
    description: `SMTP ${settings.secure ? 'smtps' : 'smtp'}://${settings.host}:${settings.port}`,
    async send(mail) {
      try {
        await (await connect()).sendMail(mail);
      } catch (err) {
        // Kept in the outbox and logged: the server's reply, never the password.
        const e = err as Error & { code?: string };
        const pass = settings.auth?.pass;
        throw new Error(`${e.code ?? 'ERROR'}: ${pass ? e.message.split(pass).join('[redacted]') : e.message}`);
      }
    },
    close: () => { void transporter?.then((t) => t.close()); },
  };
}

/** The RFC 822 message nodemailer would send (what the dev outbox keeps as .eml). */
export async function buildMessage(mail: OutgoingMail): Promise<Buffer> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer/index.js');
  return new Promise((resolve, reject) => {
    new MailComposer(mail).compile().build((err, message) => (err ? reject(err) : resolve(message)));
  });
}

/** What /dev/outbox lists, kept beside each .eml so the page needs no MIME parser. */
export interface DevOutboxEntry {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  writtenAt: number;
}

/**
 * A developer's Sesame without SMTP: each mail becomes `<id>.eml` (and `<id>.json` for the page) in
 * DATA_DIR/outbox. Files are written under a temporary name and renamed, so the page never reads
 * half a mail; a resend of the same mail replaces its files.
 */
export function devOutboxTransport(dir: string): MailTransport {
  return {
    description: `the dev outbox folder ${dir}`,
    async send(mail) {
      await fs.mkdir(dir, { recursive: true });
      const entry: DevOutboxEntry = { id: mail.id, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, writtenAt: Date.now() };
      await writeAtomically(path.join(dir, `${mail.id}.eml`), await buildMessage(mail));
      await writeAtomically(path.join(dir, `${mail.id}.json`), JSON.stringify(entry));
    },
    close: () => undefined,
  };
}

async function writeAtomically(file: string, content: string | Buffer): Promise<void> {
  const temporary = `${file}.tmp`;
  await fs.writeFile(temporary, content);
  await fs.rename(temporary, file);
}
