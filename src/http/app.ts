import path from 'node:path';
import Koa from 'koa';
import type Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Services } from '../services.js';
import { projectRoot } from '../paths.js';
import { errorHandler } from './middleware/errors.js';
import { durableAnswers } from './middleware/durable-answers.js';
import { requestId } from './middleware/request-id.js';
import { securityHeaders } from './middleware/security-headers.js';
import { requireSameOrigin } from './middleware/same-origin.js';
import { pinToPublicUrl } from './middleware/public-url.js';
import { requestTarget } from './middleware/request-target.js';
import { bodyParseError } from './middleware/body-errors.js';
import { clientIpResolver } from './client-ip.js';
import { auditContext } from '../audit/audit-middleware.js';
import { recordCeremonyFailures } from '../audit/ceremony-failures.js';
import { oidcDispatch } from './routes/oidc-dispatch.js';
import { interactionRoutes } from './routes/interaction.js';
import { verifyEmailLinkRoutes } from './routes/verify-email-link.js';
import { accountRoutes } from './routes/account.js';
import { recoveryRoutes } from './routes/recovery.js';
import { crossDeviceDesktopRoutes } from './routes/crossdevice-desktop.js';
import { crossDevicePhoneRoutes } from './routes/crossdevice-phone.js';
import { passportRoutes } from './routes/passport.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { devOutboxRoutes } from './routes/dev-outbox.js';
import { brandingRoutes } from './routes/branding.js';
import { u2fRoutes } from './routes/u2f.js';
import { wellKnownWebauthnRoutes } from './routes/well-known-webauthn.js';
import { uafRoutes } from './routes/uaf.js';
import { staticFiles } from './routes/static-files.js';
import { adminAuthRoutes } from './routes/admin/admin-auth.js';
import { adminTenantRoutes } from './routes/admin/admin-tenants.js';
import { adminSettingsRoutes } from './routes/admin/admin-settings.js';
import { adminKeyRoutes } from './routes/admin/admin-keys.js';
import { adminAuditRoutes } from './routes/admin/admin-audit.js';
import { adminAdminsRoutes } from './routes/admin/admin-admins.js';
import { adminClientRoutes } from './routes/admin/admin-clients.js';
import { adminUserRoutes } from './routes/admin/admin-users.js';
import { adminGroupRoutes } from './routes/admin/admin-groups.js';
import { adminInvitationRoutes } from './routes/admin/admin-invitations.js';
import { adminTokenRoutes } from './routes/admin/admin-tokens.js';
import { onboardingRoutes } from './routes/admin/onboarding.js';
import { invitationRoutes } from './routes/invitation.js';
import { adminApiRoutes } from './api/admin-api.js';
import { demoRpRoutes } from '../demo-rp/demo-rp-routes.js';


export interface AppOptions {
  /** Base URL this process can reach itself on (the demo RP's back-channel token call). */
  internalUrl: () => string;
}

/**
 * The Koa host. Order matters: errors and security headers wrap everything (including the
 * oidc-provider responses); the provider gets the raw request before any body parsing; our own
 * POST endpoints are same-origin only and take JSON bodies of at most 100 KB.
 */
export function createApp(services: Services, options: AppOptions): Koa {
  const { config } = services;
  // `proxy: true` only makes Koa read the X-Forwarded-* values that pinToPublicUrl has just written.
  const app = new Koa({ proxy: true });
  app.silent = true; // errors are logged by errorHandler, with the request id and without secrets

  app.use(pinToPublicUrl(config.publicUrl, clientIpResolver(config.trustProxy)));
  app.use(requestId());
  app.use(auditContext());
  app.use(securityHeaders({ https: config.publicUrl.startsWith('https:') }));
  app.use(errorHandler(services.log));
  app.use(durableAnswers(services.database.db));
  app.use(recordCeremonyFailures(services.audit));
  app.use(requestTarget());
  app.use(staticFiles(path.join(projectRoot, 'public'), services.log));
  app.use(oidcDispatch(services.registry, services.rateLimits));
  app.use(async (ctx, next) => {
    // The demo RP's callback receives the form_post from the IdP page: it is protected by its state, like any RP.
    // The admin API takes no cookies (a bearer token in each request), so a cross-site request gains nothing.
    if (ctx.path === '/demo-rp/callback' || ctx.path.startsWith('/api/')) return next();
    return requireSameOrigin(new URL(config.publicUrl).origin)(ctx, next);
  });
  app.use(bodyParser({ enableTypes: ['json', 'form'], jsonLimit: '100kb', formLimit: '100kb', encoding: 'utf-8', onError: bodyParseError }));
  for (const router of sesameRouters(services, options)) app.use(router.routes());
  return app;
}

/** Every route of Sesame's own (oidc-provider's are dispatched separately): the app mounts them, the redirect test walks them. */
export function sesameRouters(services: Services, options: AppOptions): Router[] {
  const { config } = services;
  return [
    healthRoutes(services),
    metricsRoutes({ token: config.metricsToken, localOnly: config.localOnly }),
    devOutboxRoutes(config),
    interactionRoutes(services),
    recoveryRoutes(services),
    accountRoutes(services),
    verifyEmailLinkRoutes(services),
    crossDeviceDesktopRoutes({ ...services, publicUrl: config.publicUrl }),
    crossDevicePhoneRoutes(services),
    passportRoutes({ ...services, projectRoot }),
    brandingRoutes(services),
    u2fRoutes(services),
    wellKnownWebauthnRoutes(services),
    uafRoutes(services),
    adminAuthRoutes(services),
    adminTenantRoutes(services),
    adminSettingsRoutes(services),
    adminKeyRoutes(services),
    adminAuditRoutes(services),
    adminAdminsRoutes(services),
    adminClientRoutes(services),
    adminUserRoutes(services),
    adminGroupRoutes(services),
    adminInvitationRoutes(services),
    adminTokenRoutes(services),
    onboardingRoutes(services),
    invitationRoutes(services),
    adminApiRoutes(services),
    ...(config.demo ? [demoRpRoutes({ clients: services.clients, secrets: services.database.secrets, publicUrl: config.publicUrl, internalUrl: options.internalUrl })] : []),
  ];
}
