import { SesameError } from '../errors.js';
import { ACR_VALUES } from '../webauthn/amr.js';

export interface RequestedAcr {
  /** Acceptable acr values, in the requester's order; empty: no requirement. */
  values: string[];
  /** Asked as an essential claim (OIDC Core 5.5.1.1), not only through acr_values. */
  essential: boolean;
}

/**
 * What an authorization request asks of the sign-in's acr. An essential `acr` claim (claims
 * parameter) must be met, whatever its values (OIDC Core 5.5.1.1). `acr_values` is voluntary in OIDC
 * Core, but Sesame honours the values it knows (phr, phrh) as a requirement: an application that asks
 * for phrh wants a hardware key, not a quiet downgrade. Values Sesame does not know are ignored there.
 */
export function requestedAcr(params: { acr_values?: unknown; claims?: unknown }): RequestedAcr {
  const claim = acrClaim(params.claims);
  if (claim?.essential) {
    const values = Array.isArray(claim.values) ? claim.values.map(String) : typeof claim.value === 'string' ? [claim.value] : [];
    if (values.length > 0) return { values, essential: true };
  }
  const asked = typeof params.acr_values === 'string' ? params.acr_values.split(' ').filter(Boolean) : [];
  return { values: asked.filter((value) => (ACR_VALUES as readonly string[]).includes(value)), essential: false };
}

function acrClaim(claims: unknown): { essential?: unknown; value?: unknown; values?: unknown } | undefined {
  let parsed = claims;
  if (typeof claims === 'string') {
    try {
      parsed = JSON.parse(claims);
    } catch {
      return undefined;
    }
  }
  const acr = (parsed as { id_token?: { acr?: unknown } } | undefined)?.id_token?.acr;
  return acr && typeof acr === 'object' ? acr as { essential?: unknown; value?: unknown; values?: unknown } : undefined;
}

/** The application asked for an acr this passkey cannot earn; the page asks for one that can (docs/acr-amr.md). */
export function acrUnmet(values: readonly string[]): SesameError {
  const hardware = values.every((value) => value === 'phrh');
  return new SesameError('acr_unmet', 403, hardware
    ? 'This application asks for a security key that keeps its key in hardware on one device, and whose make the FIDO Alliance vouches for. '
      + 'The passkey you used is not one. Use such a security key (registered to your account), or cancel to tell the application.'
    : 'This application asks for a kind of sign-in this passkey cannot give. Use another passkey, or cancel to tell the application.');
}

