import Router from '@koa/router';
import type { TenantService } from '../../tenants/tenant-service.js';
import { textColourOn } from '../../tenants/branding.js';

export interface BrandingDeps {
  tenants: TenantService;
}

/** A year: the logo's and the theme's URLs carry their version, so a change is a new URL. */
const LONG_CACHE = 'public, max-age=31536000, immutable';
const SHORT_CACHE = 'public, max-age=300';

/**
 * A tenant's logo and colour, served by Sesame so that its pages keep `img-src 'self' data:` and
 * `style-src 'self'` (no inline styles: the colour comes as a small stylesheet).
 */
export function brandingRoutes(deps: BrandingDeps): Router {
  const router = new Router({ prefix: '/:tenant/branding' });

  router.get('/logo', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const logo = await deps.tenants.findLogo(tenant.id);
    if (!logo) {
      ctx.status = 404;
      ctx.body = { error: 'no_logo', message: `Tenant "${tenant.id}" has no logo.` };
      return;
    }
    ctx.type = logo.type;
    ctx.set('Cache-Control', ctx.query.v === logo.version ? LONG_CACHE : SHORT_CACHE);
    ctx.set('ETag', `"${logo.version}"`);
    // Only an image: nothing in it may run or be framed, even when opened directly.
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.set('Content-Disposition', 'inline; filename="logo"');
    ctx.body = logo.bytes;
  });

  router.get('/theme.css', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    ctx.type = 'text/css';
    const colour = tenant.brandColour;
    ctx.set('Cache-Control', ctx.query.v === (colour ?? '').slice(1) ? LONG_CACHE : SHORT_CACHE);
    // The colour is #rrggbb, checked when it was set (src/tenants/branding.ts): nothing else can reach the stylesheet.
    ctx.body = colour
      ? [
        `button.primary, .button.primary, .account .badge { background: ${colour}; border-color: ${colour}; color: ${textColourOn(colour)}; }`,
        `.brand { border-top: 6px solid ${colour}; }`,
        '',
      ].join('\n')
      : '';
  });

  return router;
}
