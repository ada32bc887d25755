/**
 * Redirect URIs Azure AD B2C may send for a B2C tenant (research/b2c.md §1): the b2clogin.com
 * form, the same with the tenant id spelled as a domain, and the legacy login.microsoftonline.com
 * `/te/` form. B2C compares them in lower case.
 */
export function b2cRedirectUris(b2cTenant: string): string[] {
  const t = b2cTenant.toLowerCase();
  return [
    `https://${t}.b2clogin.com/${t}.onmicrosoft.com/oauth2/authresp`,
    `https://login.microsoftonline.com/te/${t}.onmicrosoft.com/oauth2/authresp`,
  ];
}

export const B2C_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,60}$/i;

/**
 * Redirect URIs Microsoft Entra External ID uses for an OIDC identity provider (research/b2c.md §5):
 * `https://<subdomain>.ciamlogin.com/<subdomain>.onmicrosoft.com/federation/oauth2`, and the same with
 * the directory (tenant) id when it is given.
 */
export function entraExternalIdRedirectUris(subdomain: string, tenantId?: string): string[] {
  const s = subdomain.toLowerCase();
  const uris = [`https://${s}.ciamlogin.com/${s}.onmicrosoft.com/federation/oauth2`];
  if (tenantId) uris.push(`https://${s}.ciamlogin.com/${tenantId.toLowerCase()}/federation/oauth2`);
  return uris;
}

export const ENTRA_TENANT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
