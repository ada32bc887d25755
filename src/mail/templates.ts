import { z } from 'zod';

/**
 * The mails Sesame sends and the data each one needs. The schemas are the single source: callers of
 * `MailService.enqueue` get type errors from `TemplateData`, and the data is checked again when it is
 * queued, so that a mail that cannot be rendered is refused at once instead of failing in the worker.
 * Each template is one file in src/mail/templates/ (`<name>.eta`), rendered as text and as HTML.
 */
const url = z.string().url().refine((u) => /^https?:\/\//.test(u), 'an http(s) URL');
/** Shown to the person as written; names come from user input, so they are bounded. */
const name = z.string().min(1).max(200);
/** One line of a list in a mail (nested values are not cleaned of line breaks by the renderer, so none are allowed). */
const line = z.string().min(1).max(500).refine((v) => !/[\u0000-\u001f\u007f\u2028\u2029]/.test(v), 'one line of text');

export const SECURITY_EVENTS = ['passkey-added', 'passkey-removed', 'phone-enrolled', 'recovery-used', 'new-device-sign-in'] as const;
export type SecurityEvent = (typeof SECURITY_EVENTS)[number];

export const templateSchemas = {
  /** Confirms that the person owns the address: a 6-digit code to type, or a link that does the same. */
  'verify-email': z.object({
    /** Exactly six digits. */
    code: z.string().regex(/^\d{6}$/, 'six digits'),
    /** Opens the confirmation without typing the code. */
    link: url,
    /** How long the code and link work, in minutes (said in the mail). */
    expiresInMinutes: z.number().int().positive(),
    displayName: name.optional(),
  }).strict(),
  /** A code that lets the person back into an account whose passkeys are lost. */
  'recovery-code': z.object({
    code: z.string().min(4).max(64),
    expiresInMinutes: z.number().int().positive(),
    /** Where the code is entered; optional (without it the mail says to go back to the sign-in page). */
    link: url.optional(),
    displayName: name.optional(),
  }).strict(),
  /** An administrator's one-time link back into an account whose passkeys are lost (it leads to saving a new passkey). */
  'recovery-link': z.object({
    link: url,
    expiresInMinutes: z.number().int().positive(),
    displayName: name.optional(),
  }).strict(),
  /** An administrator invites the person to create an account at a tenant whose sign-up is by invitation. */
  invitation: z.object({
    /** The invitation page (the token in its fragment). */
    link: url,
    /** When the link stops working, epoch milliseconds (said as a date and time in UTC). */
    expiresAt: z.number().int().positive(),
    /** The application the person is invited to use (a client's name), when there is one to name. */
    applicationName: name.optional(),
  }).strict(),
  /** Something changed how the account is signed in to: the person should know, and act if it was not them. */
  'security-notice': z.object({
    event: z.enum(SECURITY_EVENTS),
    /** When it happened, epoch milliseconds. */
    at: z.number().int().nonnegative(),
    /** IANA time zone the time is shown in (the person's browser's, e.g. "Europe/Berlin"); UTC when absent or unknown. */
    timeZone: z.string().max(64).optional(),
    /** "Chrome 142", as describeBrowser() gives it. */
    browser: name.optional(),
    /** "Windows 10", as describeBrowser() gives it. */
    system: name.optional(),
    /** The passkey or phone concerned (its name as the account page shows it). */
    deviceName: name.optional(),
    displayName: name.optional(),
  }).strict(),
  /** An invitation to administer a tenant (tenantName) or, without it, every tenant (an operator). */
  'admin-invite': z.object({
    link: url,
    expiresInHours: z.number().int().positive(),
    tenantName: name.optional(),
    /** The administrator who invited (their address); absent when it came from the CLI. */
    invitedBy: name.optional(),
  }).strict(),
  /** The verification link of an onboarding: it proves the address and leads to the console's first passkey. */
  'onboarding-verify': z.object({
    link: url,
    expiresInHours: z.number().int().positive(),
    organisation: name,
    tenantId: z.string().min(1).max(40),
  }).strict(),
  /** `sesame tenant invite`: the link that opens the onboarding form. */
  'onboarding-invite': z.object({
    link: url,
    expiresInHours: z.number().int().positive(),
  }).strict(),
  /** A new tenant's access details (never a secret). */
  'tenant-ready': z.object({
    organisation: name,
    consoleUrl: url,
    issuer: url,
    metadataUrl: url,
  }).strict(),
  /** A client created in the console: what to type into the relying party's form, without the secret. */
  'client-created': z.object({
    clientName: name,
    createdBy: name,
    consoleUrl: url,
    fields: z.array(z.object({ label: line, value: line }).strict()).min(1).max(40),
  }).strict(),
} satisfies Record<string, z.ZodTypeAny>;

export type TemplateName = keyof typeof templateSchemas;
export type TemplateData = { [T in TemplateName]: z.input<(typeof templateSchemas)[T]> };

export const TEMPLATE_NAMES = Object.keys(templateSchemas) as TemplateName[];

const SECURITY_SUBJECTS: Record<SecurityEvent, string> = {
  'passkey-added': 'A passkey was added to your account',
  'passkey-removed': 'A passkey was removed from your account',
  'phone-enrolled': 'A phone can now approve your sign-ins',
  'recovery-used': 'Your account was recovered with a recovery code',
  'new-device-sign-in': 'New sign-in to your account',
};

/** The subject without the tenant's name (the renderer puts it in front). */
export function subjectOf<T extends TemplateName>(template: T, data: TemplateData[T]): string {
  switch (template) {
    case 'verify-email': return 'Confirm your e-mail address';
    case 'recovery-code': return 'Your recovery code';
    case 'admin-invite': return (data as TemplateData['admin-invite']).tenantName
      ? `You are invited to administer ${(data as TemplateData['admin-invite']).tenantName}` : 'You are invited to administer Sesame';
    case 'onboarding-verify': return `Confirm your address to set up ${(data as TemplateData['onboarding-verify']).organisation}`;
    case 'onboarding-invite': return 'Set up passwordless sign-in for your organisation';
    case 'tenant-ready': return `The tenant of ${(data as TemplateData['tenant-ready']).organisation} is ready`;
    case 'client-created': return `Application "${(data as TemplateData['client-created']).clientName}" created`;
    case 'recovery-link': return 'A link to get back into your account';
    case 'invitation': return (data as TemplateData['invitation']).applicationName
      ? `You are invited to ${(data as TemplateData['invitation']).applicationName}` : 'You are invited to create an account';
    default: return SECURITY_SUBJECTS[(data as TemplateData['security-notice']).event];
  }
}
