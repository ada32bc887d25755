/**
 * Tenant ids become URL path segments (PUBLIC_URL/<id>/oidc). Pure functions, so that the onboarding
 * page's script (web/onboard.ts) suggests and checks ids exactly as the server does.
 */

/** Taken by Sesame's own routes. */
export const RESERVED_IDS = new Set(['demo-rp', 'healthz', 'readyz', 'metrics', 'static', 'assets', 'admin', 'api', 'onboard', 'favicon.ico', 'robots.txt']);
export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** Why this cannot be a tenant id (a sentence for the person who typed it), or undefined when it can. */
export function tenantIdProblem(id: string): string | undefined {
  if (RESERVED_IDS.has(id)) return `"${id}" is taken by Sesame itself. Choose another tenant id.`;
  if (!TENANT_ID_PATTERN.test(id)) return 'A tenant id has 1–40 lower-case letters (a–z), digits and hyphens, and no hyphen at either end.';
  return undefined;
}

/** Latin letters that no Unicode decomposition turns into a–z. */
const SPELLED: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ł: 'l', þ: 'th', ð: 'd' };

/** A tenant id suggested from an organisation's name: "Müller & Söhne GmbH" → "muller-sohne-gmbh", "Straße" → "strasse". */
export function suggestTenantId(name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[ßæœøđłþð]/g, (c) => SPELLED[c] ?? c)
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
}
