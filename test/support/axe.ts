import axe from 'axe-core';
import type { Page } from 'playwright-core';

/**
 * axe-core's WCAG 2.x A/AA rules (2.2 included) on the page as it is now. Injected through
 * DevTools: the page's CSP admits no inline script, rightly, and evaluate() is not bound by it.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const result = await (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join(', ')}`);
  });
}
