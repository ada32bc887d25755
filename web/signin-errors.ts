import { ApiError } from './page.js';

/**
 * What went wrong with a passkey request on the sign-in page, by cause, each with a next step.
 * Browsers answer "no passkey for this site here" and "the person closed the prompt" with the same
 * NotAllowedError (Chrome on purpose, for privacy), so those two share one message naming both ways
 * on. A timeout is told apart by the time: the request ran for as long as it was allowed to.
 */
export type Cause = 'aborted' | 'timed_out' | 'not_used' | 'not_allowed' | 'exists_here' | 'expired' | 'field' | 'other';

export interface Explained { cause: Cause; message: string; invalidField: boolean; code?: string }

export function explainSignIn(error: unknown, ceremony: { email?: string; elapsedMs: number; timeoutMs?: number }): Explained {
  const name = (error as { name?: string }).name;
  if (error instanceof ApiError) return explainApi(error);
  if (name === 'AbortError') return { cause: 'aborted', message: '', invalidField: false };
  if (name === 'NotAllowedError' && ceremony.timeoutMs && ceremony.elapsedMs >= ceremony.timeoutMs - 1000) {
    return { cause: 'timed_out', message: 'The passkey request timed out. Press "Continue with passkey" to try again.', invalidField: false };
  }
  if (name === 'NotAllowedError') {
    return {
      cause: 'not_used',
      message: ceremony.email
        ? `No passkey was used. If you closed the prompt, try again. If this device has no passkey for ${ceremony.email}, use your phone (under "Other ways to sign in"), or sign in on the device where you created the passkey.`
        : 'No passkey was chosen. If you closed the prompt, try again. If your passkey is on another device, use your phone (under "Other ways to sign in"), or enter your e-mail address first.',
      invalidField: false,
    };
  }
  if (name === 'SecurityError') {
    return { cause: 'not_allowed', message: 'This browser does not allow passkeys on this address. Open the sign-in again from the application, over https.', invalidField: false };
  }
  if (name === 'InvalidStateError') {
    return { cause: 'exists_here', message: 'This device already has a passkey for this account. Sign in with it instead.', invalidField: false };
  }
  return { cause: 'other', message: (error as Error).message || 'Something went wrong. Please try again.', invalidField: false };
}

function explainApi(error: ApiError): Explained {
  if (error.code === 'interaction_expired') return { cause: 'expired', message: error.message, invalidField: false, code: error.code };
  // The address is the cause: unknown, already taken, or not an address (the server's check, after ours).
  if (error.code === 'unknown_account' || error.code === 'account_exists' || error.code === 'invalid_request') {
    return { cause: 'field', message: error.message, invalidField: true, code: error.code };
  }
  return { cause: 'other', message: error.message, invalidField: false, code: error.code };
}

/** zod 3's e-mail pattern, the server's check: the person learns of a typo before any request. */
const EMAIL = /^(?!\.)(?!.*\.\.)([A-Z0-9_'+\-\.]*)[A-Z0-9_+-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$/i;

export function emailProblem(value: string): string | undefined {
  if (!value) return undefined;
  if (value.length > 254) return 'An e-mail address has at most 254 characters.';
  if (!EMAIL.test(value)) return 'Enter your e-mail address in the form name@example.com.';
  return undefined;
}
