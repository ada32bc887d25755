/**
 * The context each sealed value is bound to (SecretBox `context`): table, column and the row's
 * identity. Shared by the repositories and the migration that converted older databases, and part of
 * the stored format: changing one makes existing values unreadable.
 */
export const sealedColumn = {
  cookieKeys: (tenantId: string) => `tenants.cookie_keys:${tenantId}`,
  webhookSecret: (tenantId: string) => `tenants.webhook_secret:${tenantId}`,
  privateJwk: (tenantId: string, kid: string) => `signing_keys.private_jwk:${tenantId}:${kid}`,
  clientSecret: (tenantId: string, clientId: string) => `clients.client_secret:${tenantId}:${clientId}`,
  setting: (name: string) => `settings.value:${name}`,
  mailData: (id: string) => `mail_outbox.data:${id}`,
};
