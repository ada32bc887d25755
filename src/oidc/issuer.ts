/** A tenant's issuer identifier. B2C keys accounts on iss + sub, so this string must never change. */
export const issuerFor = (publicUrl: string, tenantId: string) => `${publicUrl}/${tenantId}/oidc`;
