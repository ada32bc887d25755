/** Helpers shared by Sesame's page scripts: the page config, the status line, JSON calls, error wording. */
export interface PageConfig { base: string }

export const config = JSON.parse(document.getElementById('sesame-config')!.textContent!) as PageConfig;
const status = document.getElementById('status')!;

export function show(message: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = message;
  status.className = `status ${kind}`;
}

/** An answer of Sesame's API that is not a success: its stable code tells the page what happened. */
export class ApiError extends Error {
  constructor(message: string, readonly code: string | undefined, readonly status: number) {
    super(message);
  }
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${config.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.message ?? 'Something went wrong. Please try again.', data.error, response.status);
  return data as T;
}

export function explain(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'NotAllowedError' || name === 'AbortError') return 'The passkey request was cancelled or timed out. You can try again.';
  if (name === 'InvalidStateError') return 'This device already has a passkey for this account. Sign in with it instead.';
  if (name === 'SecurityError') return 'Passkeys are not allowed on this address. Open the page over https.';
  return (error as Error).message || 'Something went wrong. Please try again.';
}

/**
 * Runs a task for a button and marks it busy meanwhile. The button stays focusable
 * (aria-disabled, not disabled): a disabled button loses the keyboard focus to <body>.
 */
export function guard(button: HTMLButtonElement | null, task: () => Promise<void>, onError: (error: unknown) => void = (error) => show(explain(error), 'error')): void {
  if (button?.getAttribute('aria-disabled') === 'true') return;
  button?.setAttribute('aria-disabled', 'true');
  task().catch(onError).finally(() => {
    button?.removeAttribute('aria-disabled');
  });
}

export type Ceremony = { challengeId: string; options: any };
