import { issuerFor } from '../oidc/issuer.js';
import type { ClientAuthMethod } from '../storage/repositories/clients.js';

/** One field of a Microsoft form, with the value to type; `group` fields sit under a heading (the claims mapping). */
export interface SetupField {
  label: string;
  value: string;
  group?: string;
}

/** What to type where, for one product that uses the client (research/b2c.md §1–5). */
export interface RelyingPartySetup {
  product: 'azure-ad-b2c' | 'entra-external-id' | 'openid-connect';
  /** Where the form is, in the product's own words. */
  where: string;
  fields: SetupField[];
  notes: string[];
}

export interface SetupFor {
  tenantId: string;
  clientId: string;
  authMethod: ClientAuthMethod;
  /** The secret in the clear, only right after it was made (never stored readable). */
  clientSecret?: string;
  /** The B2C tenant name or External ID subdomain the client was made for, when it was. */
  b2cTenant?: string;
  entraSubdomain?: string;
}

/**
 * The values an administrator types into Azure AD B2C's or Entra External ID's "OpenID Connect
 * identity provider" form (or any relying party's configuration): the CLI prints them and the
 * console and the admin API show them, from this one place.
 */
export function relyingPartySetup(publicUrl: string, input: SetupFor): RelyingPartySetup[] {
  const issuer = issuerFor(publicUrl, input.tenantId);
  const metadataUrl = `${issuer}/.well-known/openid-configuration`;
  const secret = input.authMethod !== 'private_key_jwt' && input.clientSecret ? [input.clientSecret] : [];
  const setups: RelyingPartySetup[] = [];
  if (input.b2cTenant !== undefined) {
    const notes: string[] = [];
    if (input.authMethod === 'private_key_jwt') {
      notes.push('User flows can only send a client secret: use a custom policy whose technical profile has',
        'token_endpoint_auth_method = private_key_jwt and your RSA key as assertion_signing_key.');
    } else if (input.authMethod === 'client_secret_basic') {
      notes.push('User flows send the secret in the body; a custom policy can set token_endpoint_auth_method = client_secret_basic.');
    }
    if (!publicUrl.startsWith('https://')) {
      notes.push(`B2C only accepts https metadata URLs; set PUBLIC_URL to this server's public https address (now ${publicUrl}).`);
    }
    setups.push({
      product: 'azure-ad-b2c',
      where: 'Azure AD B2C → Identity providers → New OpenID Connect provider',
      fields: [
        { label: 'Name', value: 'Sesame passkeys   (any name; users see it on the button)' },
        { label: 'Metadata url', value: metadataUrl },
        { label: 'Client ID', value: input.clientId },
        ...secret.map((value) => ({ label: 'Client secret', value })),
        { label: 'Scope', value: 'openid profile email' },
        { label: 'Response type', value: 'code' },
        { label: 'Response mode', value: 'form_post' },
        { label: 'Domain hint', value: '(leave empty)' },
        { label: 'User ID', value: 'sub', group: 'Identity provider claims mapping' },
        { label: 'Display name', value: 'name', group: 'Identity provider claims mapping' },
        { label: 'Given name', value: '(leave empty)', group: 'Identity provider claims mapping' },
        { label: 'Surname', value: '(leave empty)', group: 'Identity provider claims mapping' },
        { label: 'Email', value: 'email', group: 'Identity provider claims mapping' },
      ],
      notes,
    });
  }
  if (input.entraSubdomain !== undefined) {
    setups.push({
      product: 'entra-external-id',
      where: 'Microsoft Entra admin center (external tenant): External Identities → All identity providers → Custom → Add new → OpenID Connect',
      fields: [
        { label: 'Display name', value: 'Sesame passkeys' },
        { label: 'Well-known endpoint', value: metadataUrl },
        { label: 'Issuer URI', value: issuer },
        { label: 'Client ID', value: input.clientId },
        { label: 'Client authentication', value: input.authMethod === 'client_secret_post' ? 'client_secret' : input.authMethod },
        ...secret.map((value) => ({ label: 'Client secret', value })),
        { label: 'Scope', value: 'openid profile email' },
        { label: 'Response type', value: 'code' },
        { label: 'Claims mapping', value: 'Sub → sub, Name → name, Email → email, Email verified → email_verified' },
      ],
      notes: [
        'External ID creates accounts only for verified e-mail addresses: keep this tenant\'s',
        `e-mail verification on (the default; sesame tenant set ${input.tenantId} --email-verification required).`,
      ],
    });
  }
  if (setups.length === 0) {
    setups.push({
      product: 'openid-connect',
      where: 'Your relying party\'s OpenID Connect settings',
      fields: [
        { label: 'Metadata URL', value: metadataUrl },
        { label: 'Client ID', value: input.clientId },
        ...secret.map((value) => ({ label: 'Client secret', value })),
      ],
      notes: [],
    });
  }
  return setups;
}
