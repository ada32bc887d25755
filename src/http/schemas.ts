import { z } from 'zod';

/**
 * Input pieces shared by several endpoints (one validator: zod, through parseInput). Messages a
 * person may read on a page are whole sentences (ending in a full stop): parseInput shows them as they are.
 */
export const email = z.string().trim().toLowerCase().max(254, 'An e-mail address has at most 254 characters.').email('Enter your e-mail address in the form name@example.com.');
/** An e-mail field a person may leave empty. */
export const optionalEmail = email.optional().or(z.literal('').transform(() => undefined));
export const challengeId = z.string().min(1).max(64);
export const verificationId = z.string().min(1).max(64);
/** The code from the verification mail; spaces a person may type between the digits are dropped. */
export const emailCode = z.string().transform((code) => code.replace(/\s+/g, '')).pipe(z.string().regex(/^\d{6}$/, 'Enter the 6 digits from the mail.'));
/** The browser's IANA time zone (Intl), for the times in security mails; checked again where it is used. */
export const timeZone = z.string().max(64).optional();
