/**
 * The one error type of Sesame. `code` is stable (APIs answer {"error": code}), `status` is the
 * HTTP status it maps to and `message` is written for the person who reads it.
 */
export class SesameError extends Error {
  readonly code: string;
  readonly status: number;
  /** For 429 and 503: when the client may try again (the Retry-After header). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, status: number, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'SesameError';
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new SesameError(code, 400, message);
export const notFound = (message: string, code = 'not_found') => new SesameError(code, 404, message);
export const forbidden = (message: string, code = 'forbidden') => new SesameError(code, 403, message);
export const conflict = (message: string, code = 'conflict') => new SesameError(code, 409, message);
export const unauthorized = (message: string, code = 'unauthorized') => new SesameError(code, 401, message);
export const tooManyRequests = (message: string, retryAfterSeconds = 60) => new SesameError('rate_limited', 429, message, Math.max(1, Math.ceil(retryAfterSeconds)));

/** RFC 9457 problem details: how the admin API says what went wrong (application/problem+json). */
export interface ProblemDetails {
  /** A URI naming the kind of problem; the same as `code`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Extension member: the stable code (as {"error": code} elsewhere). */
  code: string;
  /** Extension member: the request id to quote (it is in Sesame's log). */
  requestId?: string;
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export function problemDetails(error: SesameError, requestId?: string): ProblemDetails {
  return {
    type: `urn:sesame:problem:${error.code}`,
    title: STATUS_TITLES[error.status] ?? (error.status >= 500 ? 'Server Error' : 'Client Error'),
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(requestId ? { requestId } : {}),
  };
}
