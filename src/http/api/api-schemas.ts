import './zod-openapi.js';
import { z } from 'zod';
import { CLIENT_AUTH_METHODS } from '../../storage/repositories/clients.js';
import { CLAIM_TYPES } from '../../accounts/custom-claims.js';

/**
 * The zod schemas of the admin API's requests and answers. They validate (parseInput) and they
 * are the OpenAPI document (api-route.ts): descriptions written here are what API users read.
 */
export const id = (what: string) => z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, `is not a valid ${what}`);

export const tenantParams = z.object({ tenant: id('tenant id').describe('The tenant id (the first segment of its issuer path).') });
export const clientParams = tenantParams.extend({ clientId: id('client id') });
export const userParams = tenantParams.extend({ userId: id('user id') });
export const groupParams = tenantParams.extend({ groupId: id('group id') });
export const memberParams = groupParams.extend({ userId: id('user id') });
export const claimParams = tenantParams.extend({ name: id('claim name') });
export const invitationParams = tenantParams.extend({ invitationId: id('invitation id') });

export const uri = z.string().min(1).max(2000);
const uris = z.array(uri).max(20);
export const epochMs = z.number().int().describe('Epoch milliseconds.');

export const problemFree = z.object({}).strict();

// Tenants and settings

export const tenantSchema = z.object({
  id: z.string(),
  name: z.string().describe('Display name people read on the pages and in mails.'),
  issuer: z.string(),
  metadataUrl: z.string(),
  createdAt: epochMs,
  emailVerification: z.enum(['required', 'off']),
  emailRecovery: z.boolean(),
  signup: z.enum(['open', 'invitation']).describe('invitation: only people with an invitation link may create an account.'),
  brandColour: z.string().nullable(),
  authenticatorPolicy: z.record(z.unknown()).describe('Which authenticators the tenant accepts (README, "Authenticator policy").'),
  relatedOrigins: z.array(z.string()),
});

export const tenantCreateBody = z.object({
  id: z.string().min(1).max(40).describe('1–40 lower-case letters, digits and hyphens.'),
  name: z.string().min(1).max(100),
}).strict();

export const policyChange = z.object({
  attestation: z.enum(['none', 'direct', 'enterprise']),
  trust: z.enum(['any', 'attested', 'certified']),
  minimumCertification: z.string().max(20),
  aaguidAllow: z.array(z.string().max(36)).max(500),
  aaguidDeny: z.array(z.string().max(36)).max(500),
  syncedPasskeys: z.enum(['allowed', 'device-bound-only']),
  userVerification: z.enum(['required', 'preferred']),
  algorithms: z.array(z.number().int()).min(1).max(20),
  residentKey: z.enum(['required', 'preferred']),
  attachment: z.enum(['any', 'platform', 'cross-platform', 'hybrid']),
  counterRegression: z.enum(['deny', 'allow-and-flag']),
}).partial().strict();

export const settingsBody = z.object({
  displayName: z.string().min(1).max(100),
  emailVerification: z.enum(['required', 'off']),
  emailRecovery: z.boolean(),
  signup: z.enum(['open', 'invitation']),
  brandColour: z.string().max(7).nullable().describe('#rrggbb, or null for Sesame\'s own colour.'),
  authenticatorPolicy: policyChange,
}).partial().strict().refine((v) => Object.keys(v).length > 0, 'Give at least one setting to change.');

export const keyRotation = z.object({
  kid: z.string(),
  activatesAt: epochMs.describe('When it starts signing: 48 hours from now, so that relying parties know it first.'),
  removed: z.array(z.string()).describe('Retired keys removed from the JWKS.'),
});

// Clients

export const clientSchema = z.object({
  clientId: z.string(),
  name: z.string(),
  authMethod: z.enum(CLIENT_AUTH_METHODS),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  requirePkce: z.boolean(),
  createdAt: epochMs,
  backchannelLogoutUri: z.string().nullable(),
  allowedGroups: z.array(z.string()).describe('Only members of these groups may sign in; empty: everyone.'),
});

export const setupSchema = z.object({
  product: z.enum(['azure-ad-b2c', 'entra-external-id', 'openid-connect']),
  where: z.string(),
  fields: z.array(z.object({ label: z.string(), value: z.string(), group: z.string().optional() })),
  notes: z.array(z.string()),
});

export const clientCreateBody = z.object({
  name: z.string().min(1).max(100).describe('What people read on the sign-in page ("Sign in to …").'),
  redirectUris: uris.optional(),
  postLogoutRedirectUris: uris.optional(),
  requirePkce: z.boolean().optional(),
  b2cTenant: z.string().max(61).optional().describe('Azure AD B2C tenant name (contoso of contoso.onmicrosoft.com): registers its redirect URIs.'),
  entraSubdomain: z.string().max(61).optional().describe('Entra External ID subdomain (contoso of contoso.ciamlogin.com).'),
  entraTenantId: z.string().max(36).optional(),
  authMethod: z.enum(CLIENT_AUTH_METHODS).optional().describe('Default client_secret_post.'),
  jwks: z.object({ keys: z.array(z.record(z.unknown())).min(1).max(20) }).optional().describe('private_key_jwt: the client\'s public keys.'),
  jwksUri: uri.optional(),
  backchannelLogoutUri: uri.optional().describe('OIDC Back-Channel Logout 1.0: where logout tokens are posted.'),
  allowedGroups: z.array(id('group id')).max(50).optional(),
}).strict();

export const clientCreated = z.object({
  client: clientSchema,
  clientSecret: z.string().optional().describe('Shown only in this answer: Sesame keeps only its hash.'),
  setup: z.array(setupSchema).describe('What to type into B2C\'s or External ID\'s form.'),
});

export const clientChangeBody = z.object({
  redirectUris: uris.min(1),
  postLogoutRedirectUris: uris,
  backchannelLogoutUri: uri.nullable(),
  allowedGroups: z.array(id('group id')).max(50),
}).partial().strict().refine((v) => Object.keys(v).length > 0, 'Give at least one thing to change.');

export const clientSecretRotated = z.object({ client: clientSchema, clientSecret: z.string().describe('Shown only in this answer.') });

// Users

export const userSummary = z.object({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  emailVerified: z.boolean(),
  status: z.enum(['active', 'disabled', 'closed']),
  createdAt: epochMs,
  passkeyCount: z.number().int(),
});

export const userDetails = userSummary.extend({
  passkeys: z.array(z.object({
    id: z.string(), name: z.string(), description: z.string(), aaguid: z.string(), deviceType: z.enum(['singleDevice', 'multiDevice']),
    backedUp: z.boolean(), createdAt: epochMs, lastUsedAt: epochMs.nullable(), mdsFlag: z.string().nullable(), possiblyCloned: z.boolean(),
  })),
  phones: z.array(z.object({ id: z.string(), name: z.string(), push: z.boolean(), createdAt: epochMs, lastSeenAt: epochMs.nullable() })),
  groups: z.array(z.object({ id: z.string(), name: z.string() })),
  claims: z.record(z.unknown()).describe('The user\'s own custom claim values (without their groups\').'),
});

export const userSearchQuery = z.object({
  query: z.string().max(254).optional().describe('A part of the e-mail address or name, any case.'),
  limit: z.coerce.number().int().min(1).max(200).optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
}).strict();

export const userPage = z.object({ users: z.array(userSummary), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const deletion = z.object({ userId: z.string(), email: z.string(), passkeys: z.number().int(), phones: z.number().int() });

export const recoveryLinkBody = z.object({
  send: z.boolean().optional().describe('true: mail the link to the person (the answer then holds no link); false (default): answer the link, for you to hand over.'),
}).strict();

export const recoveryLink = z.object({
  link: z.string().optional().describe('The one-time link (without send): whoever opens it gets into the account.'),
  sentTo: z.string().optional(),
  expiresAt: epochMs,
});

const claimValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
export const claimValues = z.record(claimValue).describe('Claim name → value, of the types the tenant defined.');
export const claimsBody = z.object({ claims: claimValues }).strict();

// Groups, claim definitions, invitations

export const groupSchema = z.object({ id: z.string(), name: z.string(), claims: claimValues, createdAt: epochMs, memberCount: z.number().int() });
export const groupDetails = groupSchema.extend({ members: z.array(z.object({ id: z.string(), email: z.string(), displayName: z.string() })) });
export const groupCreateBody = z.object({ name: z.string().min(1).max(100), claims: claimValues.optional() }).strict();
export const groupChangeBody = z.object({ name: z.string().min(1).max(100), claims: claimValues }).partial().strict()
  .refine((v) => Object.keys(v).length > 0, 'Give at least one thing to change.');

export const claimDefinition = z.object({ name: z.string(), type: z.enum(CLAIM_TYPES), createdAt: epochMs });
export const claimDefinitionBody = z.object({ type: z.enum(CLAIM_TYPES) }).strict();

export const invitationSchema = z.object({
  id: z.string(), email: z.string().nullable(), groupIds: z.array(z.string()), maxUses: z.number().int(), uses: z.number().int(),
  createdAt: epochMs, expiresAt: epochMs, revokedAt: epochMs.nullable(),
});
export const invitationCreateBody = z.object({
  maxUses: z.number().int().min(1).max(10_000).optional().describe('Default 1.'),
  expiresInDays: z.number().int().min(1).max(30).optional().describe('Default 7.'),
  email: z.string().email().max(254).optional().describe('Only this address may sign up with it.'),
  groupIds: z.array(id('group id')).max(50).optional().describe('Groups the new account joins.'),
  send: z.boolean().optional().describe('true: mail the link to email (needed), naming the organisation, the application and the expiry; the answer then holds no link.'),
  clientId: id('client id').optional().describe('With send: the application the mail names (by default the tenant\'s only client, if it has one).'),
}).strict();
export const invitationCreated = z.object({
  invitation: invitationSchema,
  link: z.string().optional().describe('Shown only in this answer (not when mailed): the token is kept hashed.'),
  sentTo: z.string().optional().describe('With send: the address the link was mailed to.'),
});

// Audit log

export const auditQuery = z.object({
  type: z.string().max(64).optional().describe('An event type, e.g. signin.failed (README, "Audit log").'),
  userId: id('user id').optional(),
  since: z.string().max(40).optional().describe('Inclusive: 2025-01-31 or 2025-01-31T12:00:00Z.'),
  until: z.string().max(40).optional().describe('Exclusive.'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Default 100. Events come oldest first; page with since = the last event\'s time.'),
}).strict();

export const auditEvent = z.object({
  id: z.string(), at: epochMs, tenantId: z.string(), type: z.string(), actor: z.string(), userId: z.string().nullable(), userEmail: z.string().nullable(),
  ip: z.string().nullable(), userAgent: z.string().nullable(), requestId: z.string().nullable(), detail: z.record(z.unknown()), count: z.number().int(),
});
export const auditPage = z.object({ events: z.array(auditEvent), more: z.boolean() });
