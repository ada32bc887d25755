import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { ProviderRegistry, TenantOidc } from '../../oidc/provider-registry.js';
import { finishLogin, loadInteraction, saveInteractionResult, type Interaction } from './interaction-context.js';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { PasskeyService } from '../../accounts/passkey-service.js';
import type { Tenant } from '../../storage/repositories/tenants.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import { authenticationResponseSchema, registrationResponseSchema } from '../../webauthn/response-schema.js';
import { parseInput } from '../validate.js';
import { badRequest, SesameError } from '../../errors.js';
import type { CrossDeviceService } from '../../crossdevice/crossdevice-service.js';
import { isPhone } from '../../crossdevice/describe-browser.js';
import { rememberApp, rememberedApp, requireOpenIdScope, restartUrl } from './interaction-exits.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';
import { requireJson } from './require-json.js';
import { counted } from '../../metrics.js';
import { challengeId, email, emailCode, optionalEmail, timeZone, verificationId } from '../schemas.js';
import type { EmailVerificationService } from '../../accounts/email-verification.js';
import type { SecurityNotices } from '../../accounts/security-notices.js';
import { requestedAcr } from '../../oidc/requested-acr.js';
import { ACCESS_PROMPT } from '../../oidc/provider-factory.js';
import { INVITATION_SPENT, SIGNUP_BY_INVITATION, type InvitationService } from '../../accounts/invitations.js';
import { forgetInvitation, invitationToken } from './invitation.js';
import type { AuditLog } from '../../audit/audit-log.js';

const signInOptionsBody = z.object({ email: optionalEmail });
const displayName = z.string().trim().min(1, 'must not be empty').max(100);
const signUpEmailBody = z.object({ email, displayName });
const signUpCodeBody = z.object({ verificationId, code: emailCode });
const signUpOptionsBody = z.object({ email, displayName, verificationId: verificationId.optional() });
const signInVerifyBody = z.object({ challengeId, response: authenticationResponseSchema, timeZone });
const signUpVerifyBody = z.object({ challengeId, response: registrationResponseSchema, timeZone });
const abortBody = z.object({ reason: z.enum(['cancelled', 'acr_unmet']).default('cancelled') });

export interface InteractionDeps {
  registry: ProviderRegistry;
  tenants: TenantService;
  passkeys: PasskeyService;
  rateLimits: CeremonyRateLimits;
  codeRateLimits: CeremonyRateLimits;
  crossDevice: CrossDeviceService;
  emailVerification: EmailVerificationService;
  securityNotices: SecurityNotices;
  audit: AuditLog;
  invitations: InvitationService;
}

/**
 * Sesame's sign-in pages for oidc-provider's interactions: /<tenant>/interaction/<uid>. Every call
 * loads the interaction from the browser's interaction cookie, so a challenge can only be used by
 * the browser that started the sign-in.
 */
export function interactionRoutes(deps: InteractionDeps): Router {
  const router = new Router();

  router.get('/:tenant/interaction/:uid', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const loaded = await loadInteraction(ctx, deps).catch(async (error: unknown) => {
      // Back after signing in, or a bookmark of an old page: offer the way back to the application.
      if (!(error instanceof SesameError) || error.code !== 'interaction_expired') throw error;
      const oidc = await deps.registry.get(ctx.params.tenant);
      const app = oidc && await rememberedApp(ctx, oidc);
      if (!app) throw error;
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = renderPage('error', {
        nonce: ctx.state.cspNonce,
        title: 'Sign-in finished',
        heading: 'This sign-in is over',
        message: `This sign-in page was already used, or it expired. If you signed in, continue to ${app.clientName}; otherwise start again from there.`,
        code: error.code,
        requestId: ctx.state.requestId,
        actions: [{ href: app.href, label: `Continue to ${app.clientName}`, primary: true }],
      });
      return undefined;
    });
    if (!loaded) return;
    const { tenant, oidc, interaction } = loaded;
    if (interaction.prompt.name === 'consent') {
      // Clients are registered by the tenant's administrator: consent is implied (see provider-factory).
      const grantId = await grantRequestedScopes(oidc, interaction);
      // interactionResult, not interactionFinished: the redirect is our answer, sent once the grant is durable.
      const redirectTo = await oidc.provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      ctx.status = 303;
      ctx.redirect(redirectTo);
      return;
    }
    const clientName = await clientNameOf(oidc, interaction, tenant.name);
    rememberApp(ctx, interaction);
    ctx.type = 'html';
    if (interaction.prompt.name === ACCESS_PROMPT) {
      // Signed in, but the client admits only members of groups this person is not in: say so, and let the application know (access_denied).
      ctx.status = 403;
      ctx.body = renderPage('error', {
        nonce: ctx.state.cspNonce,
        title: `No access · ${tenant.name}`,
        heading: `You cannot use ${clientName} with this account`,
        message: `Your account is signed in, but ${clientName} is open only to some people of ${tenant.name}, and your account is not among them.`,
        hint: `If you think you should have access, ask the people who run ${clientName}. You can also go back and sign in with another account.`,
        code: 'access_denied',
        requestId: ctx.state.requestId,
        form: { action: `/${tenant.id}/interaction/${interaction.uid}/deny`, label: `Back to ${clientName}` },
      });
      return;
    }
    try {
      requireOpenIdScope(interaction, clientName);
    } catch (error) {
      const redirectUri = String(interaction.params.redirect_uri ?? '');
      ctx.status = 400;
      ctx.body = renderPage('error', {
        nonce: ctx.state.cspNonce,
        title: `Sign-in problem · ${tenant.name}`,
        heading: 'This sign-in cannot start',
        message: (error as SesameError).message,
        code: (error as SesameError).code,
        requestId: ctx.state.requestId,
        actions: URL.canParse(redirectUri) ? [{ href: `${new URL(redirectUri).origin}/`, label: `Back to ${clientName}`, primary: true }] : [],
      });
      return;
    }
    const base = `/${tenant.id}/interaction/${interaction.uid}`;
    const phone = isPhone(ctx.get('user-agent'));
    // Where sign-up is by invitation, a person without one is told so instead of being led to a form that would refuse them.
    const [offer, autofill] = await Promise.all([deps.invitations.signUpOffer(tenant, invitationToken(ctx)), autofillCeremony(ctx, tenant, interaction)]);
    const signupClosed = offer === 'closed' ? SIGNUP_BY_INVITATION : offer === 'spent' ? INVITATION_SPENT : undefined;
    ctx.body = renderPage('signin', {
      nonce: ctx.state.cspNonce,
      title: `Sign in · ${tenant.name}`,
      tenantName: tenant.name,
      branding: brandingOf(tenant),
      clientName,
      loginHint: typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : '',
      createAccount: interaction.prompt.name === 'create',
      signupClosed,
      verifyEmail: tenant.emailVerification !== 'off',
      offerQr: !phone,
      emailRecovery: tenant.emailRecovery !== false,
      configJson: jsonForScript({
        base,
        clientName,
        restartUrl: restartUrl(oidc, interaction),
        expiresInMs: Math.max(0, interaction.exp * 1000 - Date.now()),
        phoneSetupUrl: `/${tenant.id}/account#phones`,
        phone,
        verifyEmail: tenant.emailVerification !== 'off',
        signupOpen: signupClosed === undefined,
        ...(autofill ? { autofill } : {}),
      }),
    });
  });

  /**
   * The sign-in page starts autofill (conditional UI) as it loads: its options come with the page
   * instead of in a request of their own (POST …/signin/options without an address), one request
   * less per sign-in. The same work as that route, counted by the same rate limit, so a page costs
   * an attacker what the page and its options request cost before. Beyond the limit the page still
   * opens, without the options: its script then asks for them, and is refused as before.
   */
  async function autofillCeremony(ctx: Context, tenant: Tenant, interaction: Interaction): Promise<Awaited<ReturnType<PasskeyService['startSignIn']>> | undefined> {
    try {
      await deps.rateLimits.consume(ctx.ip);
    } catch (error) {
      if (error instanceof SesameError && error.code === 'rate_limited') return undefined;
      throw error;
    }
    return deps.passkeys.startSignIn(tenant, interaction.uid, {});
  }

  // With JavaScript off the e-mail form is posted here (never sent as a GET with the address in the
  // URL); passkeys need JavaScript, so the page is shown again, where it says so.
  router.post('/:tenant/interaction/:uid', async (ctx) => {
    ctx.status = 303;
    ctx.redirect(`/${encodeURIComponent(ctx.params.tenant)}/interaction/${encodeURIComponent(ctx.params.uid)}`);
  });

  router.post('/:tenant/interaction/:uid/signin/options', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    requireOpenIdScope(interaction, await clientNameOf(oidc, interaction, tenant.name));
    const body = parseInput(signInOptionsBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, body.email && `${tenant.id}:${body.email}`);
    const user = body.email ? await deps.passkeys.findUserByEmail(tenant.id, body.email) : undefined;
    const ceremony = await deps.passkeys.startSignIn(tenant, interaction.uid, body.email ? { email: body.email, user } : {});
    // Known address: whether "Send a request to my phone" can work. An unknown one was refused by
    // startSignIn, with the message the page always gave, so this tells nothing about addresses nobody owns.
    ctx.body = { ...ceremony, ...(user ? { push: await deps.crossDevice.canPush(tenant, user.id) } : {}) };
  });

  router.post('/:tenant/interaction/:uid/signin/verify', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signInVerifyBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    const signedIn = await counted('signin', deps.passkeys.finishSignIn(tenant, interaction.uid, body, { acr: requestedAcr(interaction.params) }));
    await deps.audit.record({ type: 'signin.succeeded', tenantId: tenant.id, userId: signedIn.user.id, email: signedIn.user.email, detail: { via: 'interaction', credentialId: signedIn.credentialId, amr: signedIn.amr } });
    await deps.securityNotices.signedIn(signedIn.user, { userAgent: ctx.get('user-agent'), timeZone: body.timeZone });
    ctx.body = { redirectTo: await finishLogin(ctx, oidc, interaction, { accountId: signedIn.user.id, acr: signedIn.acr, amr: signedIn.amr, credentialId: signedIn.credentialId }) };
  });

  // Sign-up with e-mail verification: the address and name first, a code sent to the address, the
  // code (or the mail's link, on any device) proves it; only then the passkey (signup/options).
  router.post('/:tenant/interaction/:uid/signup/email', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    requireOpenIdScope(interaction, await clientNameOf(oidc, interaction, tenant.name));
    if (tenant.emailVerification === 'off') throw badRequest('This sign-up needs no code: create the passkey right away.', 'email_verification_off');
    const body = parseInput(signUpEmailBody, ctx.request.body);
    await deps.codeRateLimits.consume(ctx.ip, `code:${tenant.id}:${body.email}`);
    await deps.invitations.requireForSignUp(tenant, invitationToken(ctx), body.email);
    const existing = await deps.passkeys.findUserByEmail(tenant.id, body.email);
    const sent = await deps.emailVerification.send(tenant, { purpose: 'signup', interactionUid: interaction.uid, ...body });
    // An account holding the address without having proved it is closed when this sign-up completes: the page says so first.
    ctx.body = { ...sent, replacesUnconfirmedAccount: Boolean(existing && !existing.emailVerified) };
  });

  router.post('/:tenant/interaction/:uid/signup/code', requireJson, async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signUpCodeBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    await deps.emailVerification.proveWithCode(tenant, interaction.uid, body.verificationId, body.code);
    ctx.body = { verified: true };
  });

  router.get('/:tenant/interaction/:uid/signup/email/:verificationId', async (ctx) => {
    const { tenant, interaction } = await loadInteraction(ctx, deps);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { verified: await deps.emailVerification.isProved(tenant.id, interaction.uid, parseInput(verificationId, ctx.params.verificationId)) };
  });

  router.post('/:tenant/interaction/:uid/signup/options', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    requireOpenIdScope(interaction, await clientNameOf(oidc, interaction, tenant.name));
    const body = parseInput(signUpOptionsBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip, `${tenant.id}:${body.email}`);
    await deps.invitations.requireForSignUp(tenant, invitationToken(ctx), body.email);
    ctx.body = await deps.passkeys.startSignUp(tenant, interaction.uid, body);
  });

  router.post('/:tenant/interaction/:uid/signup/verify', requireJson, async (ctx) => {
    const { tenant, oidc, interaction } = await loadInteraction(ctx, deps);
    const body = parseInput(signUpVerifyBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    const signedIn = await counted('signup', deps.invitations.signUpWith(tenant, invitationToken(ctx),
      (admit) => deps.passkeys.finishSignUp(tenant, interaction.uid, body, { acr: requestedAcr(interaction.params) }, admit)));
    forgetInvitation(ctx, tenant.id);
    await deps.audit.record({ type: 'signup.succeeded', tenantId: tenant.id, userId: signedIn.user.id, email: signedIn.user.email, detail: { credentialId: signedIn.credentialId, amr: signedIn.amr } });
    await deps.securityNotices.signedIn(signedIn.user, { userAgent: ctx.get('user-agent'), timeZone: body.timeZone }, { firstSignIn: true });
    const redirectTo = await finishLogin(ctx, oidc, interaction, { accountId: signedIn.user.id, acr: signedIn.acr, amr: signedIn.amr, credentialId: signedIn.credentialId });
    // The confirmation step says where the passkey went: a passkey that may be backed up lives in a
    // password manager (synced), the other kind on this device only.
    ctx.body = { redirectTo, savedIn: signedIn.deviceType === 'multiDevice' ? 'password_manager' : 'device' };
  });

  // The "no access" page's button: the application gets access_denied (RFC 6749 4.1.2.1).
  router.post('/:tenant/interaction/:uid/deny', async (ctx) => {
    const { oidc, interaction } = await loadInteraction(ctx, deps);
    if (interaction.prompt.name !== ACCESS_PROMPT) throw badRequest('This sign-in is not refused: go back to the sign-in page.', 'not_refused');
    const redirectTo = await oidc.provider.interactionResult(ctx.req, ctx.res,
      { error: 'access_denied', error_description: 'The user is not a member of a group this client admits.' }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  });

  router.post('/:tenant/interaction/:uid/abort', requireJson, async (ctx) => {
    const { interaction } = await loadInteraction(ctx, deps);
    const { reason } = parseInput(abortBody, ctx.request.body ?? {});
    // The person found no passkey that meets the application's acr: the application is told so
    // (OpenID Connect Unmet Authentication Requirements 1.0), not that they cancelled.
    const unmet = reason === 'acr_unmet' && requestedAcr(interaction.params).values.length > 0;
    const redirectTo = await saveInteractionResult(interaction, unmet
      ? { error: 'unmet_authentication_requirements', error_description: 'The user has no passkey that meets the requested authentication context (acr).' }
      : { error: 'access_denied', error_description: 'The user cancelled the sign-in.' });
    ctx.body = { redirectTo };
  });

  return router;
}

async function clientNameOf(oidc: TenantOidc, interaction: Interaction, fallback: string): Promise<string> {
  const client = interaction.params.client_id ? await oidc.provider.Client.find(String(interaction.params.client_id)) : undefined;
  return client?.clientName ?? fallback;
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

