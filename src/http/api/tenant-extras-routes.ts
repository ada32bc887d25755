import './zod-openapi.js';
import { z } from 'zod';
import type { Services } from '../../services.js';
import type { AuditDetail } from '../../audit/audit-log.js';
import { logoFromDataUrl, LOGO_MAX_BYTES } from '../../tenants/branding.js';
import { route, type ApiRoute } from './api-route.js';
import { epochMs, id, tenantParams, uri } from './api-schemas.js';

/**
 * The tenant settings `sesame tenant webhook|set` and `sesame trust` change that are more than a
 * value of PATCH …/settings: the push webhook (its secret shown once), related origins, the logo,
 * the U2F AppID with its trusted facets, and the tenant's own attestation roots. Each calls the
 * service the CLI calls, so both check alike, and records the change in the audit log as the CLI does.
 */
const webhookSchema = z.object({ url: z.string().nullable().describe('Where push sign-in requests are announced; null: nowhere.') });
const webhookBody = z.object({ url: uri.describe('https (http only for localhost).') }).strict();
const webhookSet = z.object({
  url: z.string(),
  secret: z.string().describe('Shown only in this answer. Each POST carries Sesame-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.'),
});

const relatedOriginsBody = z.object({
  origins: z.array(uri).max(50).describe('https origins (https://host[:port], no path); [] for none.'),
}).strict();
const relatedOriginsSchema = z.object({ relatedOrigins: z.array(z.string()).describe('Served at PUBLIC_URL/.well-known/webauthn.') });

// A 64 KB image is about 87 400 characters of base64; a larger one is refused by checkLogo, which says by how much.
const logoBody = z.object({
  image: z.string().min(1).max(100_000)
    .describe(`A data: URL (data:image/png;base64,…) of a PNG, JPEG or WebP of at most ${LOGO_MAX_BYTES / 1024} KB. SVG is refused: it can carry script.`),
}).strict();
const logoSchema = z.object({ type: z.string(), bytes: z.number().int(), url: z.string().describe('Where Sesame serves it.') });

const u2fSchema = z.object({
  appId: z.string().nullable().describe('The FIDO U2F AppID whose keys sign in through WebAuthn\'s appid extension; null: none.'),
  facets: z.array(z.string()),
  trustedFacetsUrl: z.string().describe('Where Sesame serves the trusted facets (the AppID may be this URL).'),
});
const u2fBody = z.object({
  appId: uri.describe('An https URL without a #fragment.'),
  facets: z.array(z.string().min(1).max(500)).min(1).max(50).optional()
    .describe('https origins, android:apk-key-hash:… or ios:bundle-id:…. Left out: those set stay (Sesame\'s own origin for a new AppID).'),
}).strict();

const attestationRootSchema = z.object({
  fingerprint: z.string().describe('SHA-256 of the certificate, hex pairs joined by colons.'),
  subject: z.string(),
  notAfter: epochMs,
  addedAt: epochMs,
  pem: z.string(),
});
const attestationRootsBody = z.object({
  pem: z.string().min(1).max(60_000).describe('One or more PEM CA certificates, each valid today; one that is not refuses them all.'),
}).strict();
const attestationRootsAdded = z.object({
  roots: z.array(attestationRootSchema.omit({ addedAt: true })),
  added: z.number().int().describe('How many were new (the others were trusted already).'),
});
const attestationRootParams = tenantParams.extend({
  fingerprint: id('fingerprint').describe('The root\'s SHA-256 fingerprint (colons and case as you like), or all.'),
});

export function tenantExtrasRoutes(services: Services): ApiRoute[] {
  const { tenants, u2f, attestationRoots, audit, config } = services;
  const changed = (tenantId: string, detail: AuditDetail) => audit.record({ type: 'admin.tenant_changed', tenantId, detail });
  const u2fView = async (tenantId: string) => {
    const app = await u2f.findApp(tenantId);
    return { appId: app?.appId ?? null, facets: app?.facets ?? [], trustedFacetsUrl: u2f.trustedFacetsUrl(tenantId) };
  };

  return [
    // Push webhook
    route({
      method: 'get', path: '/api/tenants/{tenant}/webhook', tag: 'Tenants', summary: 'Where push sign-in requests are announced to a native-app gateway', status: 200,
      params: tenantParams, response: webhookSchema,
      handle: async ({ params }) => ({ url: (await tenants.requireTenant(params.tenant)).webhookUrl ?? null }),
    }),
    route({
      method: 'put', path: '/api/tenants/{tenant}/webhook', tag: 'Tenants', status: 200,
      summary: 'Announce push sign-in requests to a webhook: a new signing secret, in this answer once (as sesame tenant webhook)',
      params: tenantParams, body: webhookBody, response: webhookSet,
      handle: async ({ params, body }) => {
        const secret = (await tenants.setWebhook(params.tenant, body.url))!;
        await changed(params.tenant, { webhook: body.url });
        return { url: body.url, secret };
      },
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/webhook', tag: 'Tenants', summary: 'Stop announcing push sign-in requests to a webhook', status: 204,
      params: tenantParams,
      handle: async ({ params }) => {
        await tenants.setWebhook(params.tenant, null);
        await changed(params.tenant, { webhook: null });
      },
    }),

    // Related origins
    route({
      method: 'put', path: '/api/tenants/{tenant}/related-origins', tag: 'Tenants', status: 200,
      summary: 'Replace the other sites whose pages may use the tenant\'s passkeys (WebAuthn Related Origin Requests)',
      params: tenantParams, body: relatedOriginsBody, response: relatedOriginsSchema,
      handle: async ({ params, body }) => {
        const relatedOrigins = await tenants.setRelatedOrigins(params.tenant, body.origins);
        await changed(params.tenant, { settings: ['relatedOrigins'] });
        return { relatedOrigins };
      },
    }),

    // Logo
    route({
      method: 'put', path: '/api/tenants/{tenant}/logo', tag: 'Tenants', status: 200,
      summary: 'Set the logo shown on every page and in mails: a PNG, JPEG or WebP of at most 64 KB, checked by its bytes',
      params: tenantParams, body: logoBody, response: logoSchema,
      handle: async ({ params, body }) => {
        const logo = logoFromDataUrl(body.image);
        await tenants.setLogo(params.tenant, logo);
        await changed(params.tenant, { settings: ['logo'] });
        return { type: logo.type, bytes: logo.bytes.length, url: `${config.publicUrl}/${params.tenant}/branding/logo` };
      },
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/logo', tag: 'Tenants', summary: 'Show no logo', status: 204,
      params: tenantParams,
      handle: async ({ params }) => {
        await tenants.setLogo(params.tenant, null);
        await changed(params.tenant, { settings: ['logo'] });
      },
    }),

    // FIDO U2F
    route({
      method: 'get', path: '/api/tenants/{tenant}/u2f', tag: 'Tenants', summary: 'The tenant\'s FIDO U2F AppID and trusted facets', status: 200,
      params: tenantParams, response: u2fSchema,
      handle: async ({ params }) => u2fView(params.tenant),
    }),
    route({
      method: 'put', path: '/api/tenants/{tenant}/u2f', tag: 'Tenants', status: 200,
      summary: 'Set the U2F AppID of keys registered before passkeys, and optionally its trusted facets (both checked before either changes)',
      params: tenantParams, body: u2fBody, response: u2fSchema,
      handle: async ({ params, body }) => {
        await u2f.configure(params.tenant, body);
        await changed(params.tenant, { settings: body.facets ? ['u2fAppId', 'u2fFacets'] : ['u2fAppId'] });
        return u2fView(params.tenant);
      },
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/u2f', tag: 'Tenants', summary: 'Remove the U2F AppID: imported U2F keys cannot sign in until one is set again', status: 204,
      params: tenantParams,
      handle: async ({ params }) => {
        await u2f.setAppId(params.tenant, null);
        await changed(params.tenant, { settings: ['u2fAppId'] });
      },
    }),

    // Attestation roots
    route({
      method: 'get', path: '/api/tenants/{tenant}/attestation-roots', tag: 'Tenants', status: 200,
      summary: 'The attestation roots the tenant trusts besides the FIDO metadata\'s and the platform vendors\'',
      params: tenantParams, response: attestationRootSchema.array(),
      handle: async ({ params }) => attestationRoots.list(params.tenant),
    }),
    route({
      method: 'post', path: '/api/tenants/{tenant}/attestation-roots', tag: 'Tenants', status: 201,
      summary: 'Trust CA certificates for passkeys\' attestation chains (as sesame trust add)',
      params: tenantParams, body: attestationRootsBody, response: attestationRootsAdded,
      handle: async ({ params, body }) => {
        const { roots, added } = await attestationRoots.add(params.tenant, body.pem);
        await changed(params.tenant, { attestationRootsAdded: roots.map((r) => r.fingerprint) });
        return { roots, added };
      },
    }),
    route({
      method: 'delete', path: '/api/tenants/{tenant}/attestation-roots/{fingerprint}', tag: 'Tenants', status: 204,
      summary: 'Stop trusting an attestation root, or every one with "all" (passkeys registered before keep their record)',
      params: attestationRootParams,
      handle: async ({ params }) => {
        await attestationRoots.remove(params.tenant, params.fingerprint);
        await changed(params.tenant, { attestationRootsRemoved: params.fingerprint === 'all' ? 'all' : [params.fingerprint] });
      },
    }),
  ];
}
