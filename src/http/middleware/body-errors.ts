import { SesameError } from '../../errors.js';

/**
 * The body parser's onError. Its own errors (bad JSON, too large, unsupported charset) carry a 4xx
 * status; a body that does not decode under its Content-Encoding (gzip/deflate/br garbage) comes
 * from zlib without one and would otherwise be a 500.
 */
export function bodyParseError(error: unknown): never {
  const status = (error as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) throw error;
  throw new SesameError('invalid_body', 400, 'The request body could not be read: it does not match its Content-Encoding.');
}
