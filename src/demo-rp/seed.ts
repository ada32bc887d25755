import type { TenantService } from '../tenants/tenant-service.js';
import type { ClientRecord } from '../storage/repositories/clients.js';
import type { SecretBox } from '../secrets/secret-box.js';

export const DEMO_TENANT = 'demo';
export const DEMO_CLIENT_NAME = 'Demo relying party';

/**
 * The demo RP runs inside Sesame and must present its client's secret, of which Sesame keeps only a
 * hash; so the secret is derived from the server's secret key instead of being stored anywhere.
 */
export function demoClientSecret(secrets: SecretBox, clientId: string): string {
  return secrets.derive(`demo-rp client secret:${clientId}`);
}

/**
 * Creates the demo tenant and the client the /demo-rp/ page uses, once. If PUBLIC_URL changed
 * since, a client for the new address is added.
 */
export async function seedDemo(tenants: TenantService, publicUrl: string, secrets: SecretBox): Promise<ClientRecord> {
  if (!(await tenants.findTenant(DEMO_TENANT))) {
    try {
      await tenants.createTenant(DEMO_TENANT, 'Demo Shop');
    } catch (error) {
      // Several nodes starting at once: another one created it first.
      if (!(await tenants.findTenant(DEMO_TENANT))) throw error;
    }
  }
  const redirectUri = `${publicUrl}/demo-rp/callback`;
  const existing = (await tenants.listClients(DEMO_TENANT)).find((c) => c.name === DEMO_CLIENT_NAME && c.redirectUris.includes(redirectUri));
  if (existing) {
    // Databases from before secrets were hashed hold a random secret (now hashed) for this client.
    await tenants.setClientSecret(existing, demoClientSecret(secrets, existing.clientId));
    return existing;
  }
  return tenants.createClient({
    tenantId: DEMO_TENANT,
    name: DEMO_CLIENT_NAME,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [`${publicUrl}/demo-rp/`],
    secretFor: (clientId) => demoClientSecret(secrets, clientId),
  });
}
