import type { Context } from 'koa';
import type { ProviderRegistry, TenantOidc } from '../../oidc/provider-registry.js';
import type { TenantService } from '../../tenants/tenant-service.js';
import type { Tenant } from '../../storage/repositories/tenants.js';
import { notFound, SesameError } from '../../errors.js';
import { isDatabaseUnavailable } from '../../storage/unavailable.js';
import { ACCOUNT_PROMPTS } from '../../oidc/provider-factory.js';
import { acrUnmet, requestedAcr } from '../../oidc/requested-acr.js';

export type Interaction = Awaited<ReturnType<TenantOidc['provider']['interactionDetails']>>;

/**
 * Loads the OIDC interaction of this browser (from oidc-provider's interaction cookie) for a
 * /<tenant>/interaction/<uid>/... route: anything bound to the interaction is thereby bound to the
 * browser that holds that cookie.
 */
export async function loadInteraction(ctx: Context, deps: { registry: ProviderRegistry; tenants: TenantService }): Promise<{ tenant: Tenant; oidc: TenantOidc; interaction: Interaction }> {
  const tenantId = ctx.params.tenant as string;
  const oidc = await deps.registry.get(tenantId);
  if (!oidc) throw notFound(`There is no tenant called "${tenantId}".`, 'unknown_tenant');
  const tenant = await deps.tenants.requireTenant(tenantId);
  let interaction: Interaction;
  try {
    interaction = await oidc.provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    // An outage is not the user's fault: it is answered as one (503), not as an expired page.
    if (isDatabaseUnavailable(error)) throw error;
    throw new SesameError('interaction_expired', 400,
      'This sign-in page has expired or was opened in another browser. Go back to the application and start the sign-in again.');
  }
  if (interaction.uid !== ctx.params.uid) {
    throw new SesameError('interaction_expired', 400, 'This sign-in page is out of date. Go back to the application and start the sign-in again.');
  }
  return { tenant, oidc, interaction };
}

/**
 * Ends the interaction with a signed-in account, if it meets the application's acr request. `credentialId` (the passkey that signed in) rides
 * along in the result so that the session it opens is recorded against that passkey, and ends when
 * the passkey is removed (provider-factory's grant step reads it).
 */
export async function finishLogin(ctx: Context, oidc: TenantOidc, interaction: Interaction, login: { accountId: string; acr?: string; amr: string[]; credentialId?: string }): Promise<string> {
  // A sign-in without the acr the application asked for (recovery, cross-device: none at all) would
  // only bring the person back here (the provider prompts again): it is refused with the reason instead.
  const { values } = requestedAcr(interaction.params);
  if (values.length > 0 && !(login.acr && values.includes(login.acr))) throw acrUnmet(values);
  return saveInteractionResult(interaction, {
    login: { accountId: login.accountId, ...(login.acr ? { acr: login.acr } : {}), amr: login.amr, remember: true },
    ...(login.credentialId ? { sesame: { credentialId: login.credentialId } } : {}),
    // A sign-in (or sign-up) on our page is also the answer to prompt=select_account and prompt=create.
    ...Object.fromEntries(ACCOUNT_PROMPTS.map((prompt) => [prompt, {}])),
  });
}

/**
 * Records the interaction's result and returns where the browser goes next: what
 * `provider.interactionResult(req, res, result, { mergeWithLastSubmission: false })` does, on the
 * interaction this request has loaded (and checked against the browser's cookie) already, instead
 * of loading it, its cookie and its session again.
 */
export async function saveInteractionResult(interaction: Interaction, result: NonNullable<Interaction['result']>): Promise<string> {
  interaction.result = result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}
