import type { TenantService } from '../tenants/tenant-service.js';
import type { Client } from '../storage/repositories/clients.js';

export const DEMO_TENANT = 'demo';
export const DEMO_CLIENT_NAME = 'Demo relying party';

/**
 * Creates the demo tenant and the client the /demo-rp/ page uses, once. If PUBLIC_URL changed
 * since, a client for the new address is added.
 */
export async function seedDemo(tenants: TenantService, publicUrl: string): Promise<Client> {
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
  if (existing) return existing;
  return tenants.createClient({
    tenantId: DEMO_TENANT,
    name: DEMO_CLIENT_NAME,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [`${publicUrl}/demo-rp/`],
  });
}
