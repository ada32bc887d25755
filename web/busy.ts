import { explain, show } from './page.js';

/**
 * Runs a button's task and shows any error in the status line. Meanwhile the button says it is
 * busy (aria-busy) and ignores presses, but it stays enabled: disabling the focused button would
 * drop keyboard focus to <body>.
 */
export function whileBusy(button: HTMLButtonElement, task: () => Promise<void>): void {
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  task().catch((error) => show(explain(error), 'error')).finally(() => button.removeAttribute('aria-busy'));
}
