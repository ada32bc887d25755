import { badRequest, notFound } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ClaimDefinition, GroupRepository } from '../storage/repositories/groups.js';

export const CLAIM_TYPES = ['string', 'number', 'boolean', 'string_array'] as const;
export type ClaimType = (typeof CLAIM_TYPES)[number];
export type ClaimValue = string | number | boolean | string[];
export type ClaimValues = Record<string, ClaimValue>;

export const CLAIM_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const MAX_CLAIM_DEFINITIONS = 50;
/** The JSON of one user's or one group's claims: a B2C token (and a cookie holding it) must stay small. */
export const MAX_CLAIMS_BYTES = 4096;
export const MAX_STRING_LENGTH = 1000;
export const MAX_ARRAY_ITEMS = 100;
/** The scope a client asks for to get the custom claims in its ID token. */
export const CLAIMS_SCOPE = 'claims';

/** Claims Sesame or the JWT itself define: a custom claim may not take their names. */
const RESERVED = new Set([
  'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'azp', 'nonce', 'auth_time', 'acr', 'amr', 'sid', 'at_hash', 'c_hash', 's_hash',
  'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website',
  'email', 'email_verified', 'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number', 'phone_number_verified', 'address',
  'updated_at', 'groups', 'scope', 'client_id', 'cnf', 'events', 'typ', 'kid', 'alg', 'claims', 'tid', 'oid', 'idp',
]);

/**
 * Custom claims: a tenant defines each claim's name and type once; users and groups then carry
 * values. A client that asks for the `claims` scope gets them in the ID token (B2C reads only the
 * ID token), a user's own value before their groups': string arrays from several groups are
 * joined, and for other types the group first by name wins.
 */
export class CustomClaims {
  constructor(
    private readonly groups: GroupRepository,
    private readonly audit: AuditLog,
    /** Called after definitions change: providers are rebuilt with the new claim names. */
    private readonly definitionsChanged: (tenantId: string) => Promise<void>,
  ) {}

  definitions(tenantId: string): Promise<ClaimDefinition[]> {
    return this.groups.definitions(tenantId);
  }

  async define(tenantId: string, name: string, type: string, now = Date.now()): Promise<ClaimDefinition> {
    if (!CLAIM_NAME_PATTERN.test(name)) throw badRequest(`"${name}" cannot be a claim name: use a letter, then up to 63 letters, digits or underscores.`, 'invalid_claim');
    if (RESERVED.has(name.toLowerCase())) throw badRequest(`"${name}" is a standard claim: choose another name.`, 'invalid_claim');
    // oidc-provider takes the claims as a plain object: an own "constructor" makes it refuse them all (a 500 at the token endpoint).
    if (name in Object.prototype) throw badRequest(`"${name}" cannot be a claim name: every JavaScript object has a property of that name. Choose another name.`, 'invalid_claim');
    const claimType = CLAIM_TYPES.find((t) => t === type);
    if (!claimType) throw badRequest(`A claim's type is one of ${CLAIM_TYPES.join(', ')}, not "${type}".`, 'invalid_claim');
    const existing = await this.groups.definitions(tenantId);
    if (!existing.some((d) => d.name === name) && existing.length >= MAX_CLAIM_DEFINITIONS) {
      throw badRequest(`A tenant has at most ${MAX_CLAIM_DEFINITIONS} custom claims.`, 'too_many_claims');
    }
    const definition = { name, type: claimType, createdAt: now };
    await this.groups.upsertDefinition(tenantId, definition);
    await this.audit.record({ type: 'admin.claims_changed', tenantId, detail: { defined: name, claimType } });
    await this.definitionsChanged(tenantId);
    return definition;
  }

  /** Removes a definition: values of it that users and groups hold are no longer emitted (and are dropped when next written). */
  async undefine(tenantId: string, name: string): Promise<void> {
    if (!await this.groups.deleteDefinition(tenantId, name)) throw notFound(`Tenant "${tenantId}" has no custom claim "${name}".`, 'unknown_claim');
    await this.audit.record({ type: 'admin.claims_changed', tenantId, detail: { removed: name } });
    await this.definitionsChanged(tenantId);
  }

  async userClaims(tenantId: string, userId: string): Promise<ClaimValues> {
    const claims = await this.groups.userClaims(tenantId, userId);
    if (!claims) throw notFound(`Tenant "${tenantId}" has no user with the id ${userId}.`, 'unknown_user');
    return this.onlyDefined(tenantId, claims);
  }

  /** Replaces the user's own claim values (an empty object removes them all). */
  async setUserClaims(tenantId: string, userId: string, values: Record<string, unknown>): Promise<ClaimValues> {
    if (!await this.groups.userClaims(tenantId, userId)) throw notFound(`Tenant "${tenantId}" has no user with the id ${userId}.`, 'unknown_user');
    const checked = await this.check(tenantId, values);
    await this.groups.setUserClaims(tenantId, userId, checked);
    await this.audit.record({ type: 'admin.claims_changed', tenantId, userId, detail: { claims: Object.keys(checked) } });
    return checked;
  }

  /** Checks values against the tenant's definitions and the size limits; answers them as they are stored. */
  async check(tenantId: string, values: Record<string, unknown>): Promise<ClaimValues> {
    const types = new Map((await this.groups.definitions(tenantId)).map((d) => [d.name, d.type as ClaimType]));
    const checked: ClaimValues = {};
    for (const [name, value] of Object.entries(values)) {
      const type = types.get(name);
      if (!type) throw badRequest(`"${name}" is not a custom claim of this tenant: define it first (PUT /api/tenants/${tenantId}/claims/${encodeURIComponent(name)}).`, 'unknown_claim');
      checked[name] = checkValue(name, type, value);
    }
    if (Buffer.byteLength(JSON.stringify(checked)) > MAX_CLAIMS_BYTES) throw badRequest(`These claims take more than ${MAX_CLAIMS_BYTES} bytes as JSON: ID tokens must stay small.`, 'claims_too_large');
    return checked;
  }

  /** What goes into the ID token for the `claims` scope: the user's values over their groups'. */
  async claimsFor(tenantId: string, userId: string): Promise<ClaimValues> {
    const [own, groups, definitions] = await Promise.all([this.groups.userClaims(tenantId, userId), this.groups.groupsOf(tenantId, userId), this.groups.definitions(tenantId)]);
    const types = new Map(definitions.map((d) => [d.name, d.type as ClaimType]));
    // A value given before its claim was retyped is left out: the token carries each claim as defined.
    const current = ([name, value]: [string, unknown]) => { const type = types.get(name); return type !== undefined && hasType(type, value); };
    const merged: ClaimValues = {};
    for (const group of groups) {
      for (const [name, value] of Object.entries(group.claims).filter(current)) {
        if (Array.isArray(value)) merged[name] = [...new Set([...((merged[name] as string[] | undefined) ?? []), ...value])];
        else if (!(name in merged)) merged[name] = value;
      }
    }
    for (const [name, value] of Object.entries(own ?? {}).filter(current)) merged[name] = value;
    return merged;
  }

  private async onlyDefined(tenantId: string, claims: ClaimValues): Promise<ClaimValues> {
    const names = new Set((await this.groups.definitions(tenantId)).map((d) => d.name));
    return Object.fromEntries(Object.entries(claims).filter(([name]) => names.has(name)));
  }
}

function checkValue(name: string, type: ClaimType, value: unknown): ClaimValue {
  if (!hasType(type, value)) throw badRequest(`Claim "${name}" is a ${type.replace('_', ' ')}; ${JSON.stringify(value)?.slice(0, 60) ?? String(value)} is not one.`, 'invalid_claim_value');
  if (typeof value === 'string' && value.length > MAX_STRING_LENGTH) throw badRequest(`Claim "${name}" has at most ${MAX_STRING_LENGTH} characters.`, 'invalid_claim_value');
  if (Array.isArray(value) && (value.length > MAX_ARRAY_ITEMS || value.some((v) => v.length > MAX_STRING_LENGTH))) {
    throw badRequest(`Claim "${name}" holds at most ${MAX_ARRAY_ITEMS} strings of at most ${MAX_STRING_LENGTH} characters.`, 'invalid_claim_value');
  }
  return value;
}

/** Whether a value is of the claim's type (one given before the claim was retyped may not be). */
function hasType(type: ClaimType, value: unknown): value is ClaimValue {
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'boolean': return typeof value === 'boolean';
    case 'string_array': return Array.isArray(value) && value.every((v) => typeof v === 'string');
  }
}
