import fc from 'fast-check';

/** Pieces of hostile input the fuzz tests share (test/fuzz.test.ts, test/api-fuzz.test.ts). */

/** Percent-encodes text; a lone surrogate (which has no UTF-8 form) becomes U+FFFD first. */
export const enc = (text: string) => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));

export const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '\u0000', 'a\u0000b', '%00', '%ZZ', '%E0%A4%A', '../..', '<script>alert(1)</script>', "' or 1=1 --", '\uD800', '\uFFFF', 'null', '0', '-1', '1e309'),
  fc.string({ minLength: 2000, maxLength: 5000 }),
);

/** A path segment, already percent-encoded (some deliberately broken). */
export const hostileSegment = fc.oneof(
  fc.constantFrom('%ZZ', '%E0%A4%A', '%00', '%', 'abc%00', '%2e%2e', '%C0%AF', '..', 'a'.repeat(600), '%F0%9F%92%A9', '%uD800'),
  fc.string({ minLength: 1, maxLength: 30 }).map(enc),
);

export const jsonValue = fc.oneof(
  hostileText,
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.array(hostileText, { maxLength: 4 }),
  fc.dictionary(hostileText, hostileText, { maxKeys: 4 }),
);

/**
 * Node's HTTP parser answers what it cannot take (a header or URL over 16 KB, a body on a TRACE)
 * with a bare 400, 413 or 431 before Sesame sees the request: that refusal is Node's, not a page.
 */
export const refusedByNodeParser = (status: number, contentType: string, text: string) =>
  (status === 431 || status === 400 || status === 413) && contentType === '' && text === '';
