import { z } from 'zod';

/** Input pieces shared by several endpoints (one validator: zod, through parseInput). */
export const email = z.string().trim().toLowerCase().max(254).email('must be a valid e-mail address');
/** An e-mail field a person may leave empty. */
export const optionalEmail = email.optional().or(z.literal('').transform(() => undefined));
export const challengeId = z.string().min(1).max(64);
