import path from 'node:path';
import { projectRoot } from '../paths.js';
import { Eta } from 'eta';
import { subjectOf, type TemplateData, type TemplateName } from './templates.js';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface MailContext {
  tenantName: string;
  /** The tenant's account page, where the person can see and remove passkeys. */
  accountUrl: string;
  branding?: MailBranding;
}

/** The tenant's colour (with the text colour that contrasts with it) and its logo's absolute URL. */
export interface MailBranding {
  colour?: string;
  textColour?: string;
  logoUrl?: string;
}

// Built or not, the templates stay in src/mail.
const templatesDir = path.join(projectRoot, 'src', 'mail', 'templates');

/**
 * One template gives both parts: it is rendered once with HTML escaping and once without (plain
 * text needs none). Blank lines separate paragraphs; `code` and `link` are the only markup, written
 * by the helpers below. Whitespace trimming is off so that the text keeps the template's lines.
 */
const etaHtml = new Eta({ views: templatesDir, cache: true, autoEscape: true, escapeFunction: escapeHtml, autoTrim: false });
const etaText = new Eta({ views: templatesDir, cache: true, autoEscape: false, autoTrim: false });

const htmlHelpers = {
  code: (value: string) => `<span style="display:inline-block;padding:8px 16px;background:#f4f4f5;border-radius:6px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:28px;letter-spacing:6px;font-weight:bold">${escapeHtml(value)}</span>`,
  link: (url: string, label: string) => `<a href="${escapeHtml(url)}" style="color:#1d4ed8">${escapeHtml(label)}</a>`,
};
const textHelpers = {
  code: (value: string) => `    ${value}`,
  link: (url: string, _label: string) => url,
};

export function renderMail<T extends TemplateName>(template: T, data: TemplateData[T], context: MailContext): RenderedMail {
  const clean = singleLineStrings(data);
  const subject = `${oneLine(context.tenantName)}: ${subjectOf(template, clean)}`;
  const shared = {
    data: clean,
    tenantName: oneLine(context.tenantName),
    accountUrl: context.accountUrl,
    when: 'at' in clean ? formatTime(clean.at as number, clean.timeZone as string | undefined) : '',
    expires: 'expiresAt' in clean ? formatTime(clean.expiresAt as number, undefined) : '',
  };
  const text = tidy(etaText.render(`./${template}`, { ...shared, ...textHelpers }));
  const body = tidy(etaHtml.render(`./${template}`, { ...shared, ...htmlHelpers }))
    .split(/\n{2,}/)
    .map((paragraph) => `<p style="margin:0 0 16px">${paragraph.replace(/\n/g, '<br>\n')}</p>`)
    .join('\n');
  const html = etaHtml.render('./layout', { subject, tenantName: shared.tenantName, body, branding: context.branding ?? {} });
  return { subject, text: `${text}\n\n-- \n${shared.tenantName}\n`, html };
}

/** "Tuesday 4 March 2025 at 14:05 (Europe/Berlin)"; an unknown time zone falls back to UTC. */
export function formatTime(at: number, timeZone: string | undefined): string {
  const zone = timeZone && isTimeZone(timeZone) ? timeZone : 'UTC';
  return `${new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone: zone }).format(at)} (${zone})`;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name });
    return true;
  } catch {
    return false; // RangeError: not a time zone this runtime knows
  }
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Names come from user input: a line break in one would let it write lines of its own into the
 * mail (a fake "link" paragraph in the plain-text part), so control characters become spaces.
 */
function singleLineStrings<T>(data: T): T {
  return Object.fromEntries(Object.entries(data as object).map(([k, v]) => [k, typeof v === 'string' ? oneLine(v) : v])) as T;
}

function oneLine(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

function tidy(rendered: string): string {
  return rendered.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}
