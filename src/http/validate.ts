import type { z } from 'zod';
import { badRequest } from '../errors.js';

/**
 * The one validator: parses input with a zod schema, or answers 400 naming the first bad field.
 * A NUL character is refused in every field first: no text Sesame keeps may hold one, and
 * PostgreSQL cannot store it (the request would otherwise fail deep inside, as a 500).
 */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown): z.infer<S> {
  const withNul = findNul(input ?? {}, []);
  if (withNul) throw badRequest(`The request is not valid: ${withNul.length ? withNul.join('.') : 'body'} must not contain a NUL character.`);
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : 'body';
  // A whole sentence was written for the person filling in the form: it needs no field name in front.
  if (issue.message.endsWith('.')) throw badRequest(issue.message);
  const message = issue.code === 'invalid_type' && issue.received === 'undefined'
    ? `${field} is required.`
    : `${field}: ${issue.message}.`;
  throw badRequest(`The request is not valid: ${message}`);
}

/** The path of the first string (value or key) holding U+0000, if any. */
function findNul(value: unknown, path: string[]): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return [...path, key.replace(/\u0000/g, '\\0')];
    const found = findNul(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}
