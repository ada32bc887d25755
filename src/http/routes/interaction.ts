import Router from '@koa/router';
import { z } from 'zod';
import type { ProviderRegistry, TenantOidc } from '../../oidc/provider-registry.js';
import { finishLogin, loadInteraction, type Interaction } from './interaction-context.js';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { PasskeyService } from '../../accounts/passkey-service.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import { authenticationResponseSchema, registrationResponseSchema } from '../../webauthn/response-schema.js';
import { parseInput } from '../validate.js';
import { badRequest } from '../../errors.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { requireJson } from './require-json.js';
import { counted } from '../../metrics.js';
import { challengeId, email, optionalEmail } from '../schemas.js';

const signInOptionsBody = z.object({ email: optionalEmail });
const signUpOptionsBody = z.object({ email, displayName: z.string().trim().min(1, 'must not be empty').max(100) });
const signInVerifyBody = z.object({ challengeId, response: authenticationResponseSchema });
const signUpVerifyBody = z.object({ challengeId, response: registrationResponseSchema });

export interface InteractionDeps {
  registry: ProviderRegistry;
  tenants: TenantService;
  passkeys: PasskeyService;
  rateLimits: CeremonyRateLimits;
}

/**
 * Sesame's sign-in pages for oidc-provider's interactions: /<tenant>/interaction/<uid>. Every call
 * loads the interaction from the browser's interaction cookie, so a challenge can only be used by
 * the browser that started the sign-in.
 */
export function interactionRoutes(deps: InteractionDeps): Router {
  const router = new Router();

  router.get('/:tenant/interaction/:uid', async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    if (interaction.prompt.name === 'consent') {
      // Clients are registered by the tenant's administrator: consent is implied (see provider-factory).
      const grantId = await grantRequestedScopes(oidc, interaction);
      ctx.respond = false;
      await oidc.provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    const client = interaction.params.client_id ? await oidc.provider.Client.find(String(interaction.params.client_id)) : undefined;
    const base = `/${tenant.id}/interaction/${interaction.uid}`;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderPage('signin', {
      nonce: ctx.state.cspNonce,
      title: `Sign in · ${tenant.name}`,
      tenantName: tenant.name,
      clientName: client?.clientName ?? tenant.name,
      loginHint: typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : '',
      createAccount: interaction.prompt.name === 'create',
      configJson: jsonForScript({ base }),
    });
  });

  router.post('/:tenant/interaction/:uid/signin/options', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signInOptionsBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, body.email && `${tenant.id}:${body.email}`);
    ctx.body = await deps.passkeys.startSignIn(tenant, interaction.uid, { email: body.email });
  });

  router.post('/:tenant/interaction/:uid/signin/verify', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signInVerifyBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    const signedIn = await counted('signin', deps.passkeys.finishSignIn(tenant, interaction.uid, body));
    ctx.body = { redirectTo: await finishLogin(ctx, oidc, { accountId: signedIn.user.id, acr: signedIn.acr, amr: signedIn.amr, credentialId: signedIn.credentialId }) };
  });

  router.post('/:tenant/interaction/:uid/signup/options', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signUpOptionsBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, `${tenant.id}:${body.email}`);
    ctx.body = await deps.passkeys.startSignUp(tenant, interaction.uid, body);
  });

  router.post('/:tenant/interaction/:uid/signup/verify', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signUpVerifyBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    const signedIn = await counted('signup', deps.passkeys.finishSignUp(tenant, interaction.uid, body));
    ctx.body = { redirectTo: await finishLogin(ctx, oidc, { accountId: signedIn.user.id, acr: signedIn.acr, amr: signedIn.amr, credentialId: signedIn.credentialId }) };
  });

  router.post('/:tenant/interaction/:uid/abort', requireJson, async (ctx) => {
    const { oidc } = await loadInteraction(ctx, deps);
    const redirectTo = await oidc.provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'The user cancelled the sign-in.',
    }, { mergeWithLastSubmission: false });
    ctx.body = { redirectTo };
  });

  return router;
}

async function grantRequestedScopes(oidc: TenantOidc, interaction: Interaction): Promise<string> {
  const { Grant } = oidc.provider;
  const accountId = interaction.session?.accountId;
  const clientId = String(interaction.params.client_id);
  if (!accountId) throw badRequest('There is no signed-in user for this request. Start the sign-in again.', 'interaction_expired');
  const grant = (interaction.grantId && await Grant.find(interaction.grantId)) || new Grant({ accountId, clientId });
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  return grant.save();
}

