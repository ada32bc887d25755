import type { z } from 'zod';
import { badRequest } from '../errors.js';

/** The one validator: parses input with a zod schema, or answers 400 naming the first bad field. */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : 'body';
  const message = issue.code === 'invalid_type' && issue.received === 'undefined'
    ? `${field} is required.`
    : `${field}: ${issue.message}.`;
  throw badRequest(`The request is not valid: ${message}`);
}
