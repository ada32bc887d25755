import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../../../services.js';
import { parseInput } from '../../validate.js';
import { badRequest } from '../../../errors.js';
import { brandingOf, logoFromDataUrl } from '../../../tenants/branding.js';
import { policyOf, type Tenant } from '../../../storage/repositories/tenants.js';
import { ALGORITHM_NAMES, CERTIFICATION_LEVELS, offeredAlgorithms, type AuthenticatorPolicy } from '../../../webauthn/policy/authenticator-policy.js';
import { runtimeAlgorithms } from '../../../webauthn/attestation/algorithms.js';
import { normaliseAaguid } from '../../../webauthn/metadata/authenticator-status.js';
import { flashOf, formAction, renderConsole, requireAdmin, tenantFor, tenantPath } from './console.js';

/** A form's list of values: a textarea's lines, or repeated fields (one field arrives as a string). */
const lines = z.string().max(20_000).default('').transform((text) => text.split(/[\r\n,]+/).map((l) => l.trim()).filter(Boolean));
const repeated = z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().max(20)).max(20));
const checkbox = z.literal('on').optional();

const signUpForm = z.object({ emailVerification: z.enum(['required', 'off']), emailRecovery: z.enum(['on', 'off']) });
const brandingForm = z.object({
  displayName: z.string().max(200),
  ownColour: checkbox,
  brandColour: z.string().max(20).default(''),
  removeLogo: checkbox,
  logo: z.string().max(120_000).default(''),
});
const policyForm = z.object({
  attestation: z.enum(['none', 'direct', 'enterprise']),
  trust: z.enum(['any', 'attested', 'certified']),
  minimumCertification: z.enum(CERTIFICATION_LEVELS),
  syncedPasskeys: z.enum(['allowed', 'device-bound-only']),
  userVerification: z.enum(['required', 'preferred']),
  residentKey: z.enum(['required', 'preferred']),
  attachment: z.enum(['any', 'platform', 'cross-platform', 'hybrid']),
  counterRegression: z.enum(['deny', 'allow-and-flag']),
  algorithms: repeated,
  aaguidAllow: lines,
  aaguidDeny: lines,
  relatedOrigins: lines,
});

/** The policy's choices as the page offers them (values are the policy's own words). */
const POLICY_SELECTS: Array<{ name: keyof AuthenticatorPolicy; label: string; hint: string; options: Array<[string, string]> }> = [
  { name: 'trust', label: 'Which passkeys may be made', hint: 'Attested: the passkey proves its make with a verified attestation. Certified: and it is FIDO Certified at the level below.',
    options: [['any', 'Any passkey'], ['attested', 'Attested passkeys only'], ['certified', 'FIDO Certified passkeys only']] },
  { name: 'minimumCertification', label: 'Lowest certification level (for “certified”)', hint: 'L1 is the basic level; L2 and up need hardware protection.',
    options: CERTIFICATION_LEVELS.map((l) => [l, l]) },
  { name: 'attestation', label: 'Attestation asked for', hint: 'Direct or enterprise attestation lets Sesame check a passkey\'s make; “any” needs none.',
    options: [['none', 'None'], ['direct', 'Direct'], ['enterprise', 'Enterprise']] },
  { name: 'syncedPasskeys', label: 'Synced passkeys', hint: 'Passkeys of iCloud Keychain, Google Password Manager and password managers are synced between devices.',
    options: [['allowed', 'Allowed'], ['device-bound-only', 'Refused: passkeys must stay on one device']] },
  { name: 'userVerification', label: 'User verification', hint: 'Required: every passkey ceremony checks the person (PIN, fingerprint, face).',
    options: [['required', 'Required'], ['preferred', 'Preferred']] },
  { name: 'residentKey', label: 'Discoverable passkeys', hint: 'Required: people sign in without typing their address.',
    options: [['required', 'Required'], ['preferred', 'Preferred']] },
  { name: 'attachment', label: 'Authenticator offered first', hint: 'Which kind of authenticator the browser offers first when a passkey is made.',
    options: [['any', 'The browser chooses'], ['platform', 'This device'], ['cross-platform', 'A security key'], ['hybrid', 'A phone']] },
  { name: 'counterRegression', label: 'A passkey whose counter goes back (a copy?)', hint: 'The passkey is flagged and the event recorded either way.',
    options: [['deny', 'Refuse the sign-in'], ['allow-and-flag', 'Let it sign in, flagged']] },
];

type SettingsDeps = Pick<Services, 'adminAccounts' | 'tenants' | 'audit'>;

/** A tenant's settings: sign-up and recovery, branding, authenticator policy and related origins. */
export function adminSettingsRoutes(deps: SettingsDeps): Router {
  const router = new Router();
  const signedIn = requireAdmin(deps.adminAccounts);

  const show = async (ctx: Context, tenant: Tenant, error?: string) => {
    const policy = policyOf(tenant);
    // The boxes are the algorithms this runtime verifies (ML-DSA only where it has it), ticked as offered now.
    const [offered, verifiable] = await Promise.all([offeredAlgorithms(policy), runtimeAlgorithms()]);
    renderConsole(ctx, 'settings', {
      title: `Settings · ${tenant.name}`, tenant, current: 'settings', script: 'admin', error,
      flash: flashOf(ctx, { signup: 'Sign-up and recovery are saved.', branding: 'Branding is saved.', policy: 'The authenticator policy is saved.' }),
      base: tenantPath(tenant, 'settings'),
      settings: {
        emailVerification: tenant.emailVerification ?? 'required',
        emailRecovery: tenant.emailRecovery !== false,
        displayName: tenant.name,
        brandColour: tenant.brandColour ?? null,
        logoPath: brandingOf(tenant).logoPath,
        relatedOrigins: tenant.relatedOrigins ?? [],
      },
      policy,
      policySelects: POLICY_SELECTS.map((s) => ({ ...s, value: String(policy[s.name]), options: s.options.map(([value, label]) => ({ value, label })) })),
      algorithms: Object.entries(ALGORITHM_NAMES).filter(([, id]) => verifiable.includes(id)).map(([name, id]) => ({ name, on: offered.includes(id) })),
    });
  };

  router.get('/admin/tenants/:tenant/settings', signedIn, async (ctx) => {
    await show(ctx, await tenantFor(ctx, deps.tenants));
  });

  /** Runs a settings form: on success back to the page with its message, on refusal the page again with the reason. */
  const save = (section: string, apply: (ctx: Context, tenant: Tenant) => Promise<string[]>) => async (ctx: Context) => {
    const tenant = await tenantFor(ctx, deps.tenants);
    await formAction(ctx, async () => {
      const changed = await apply(ctx, tenant);
      await deps.audit.record({ type: 'admin.tenant_changed', tenantId: tenant.id, detail: { settings: changed } });
      return `${tenantPath(tenant, 'settings')}?done=${section}`;
    }, async (error) => show(ctx, await deps.tenants.requireTenant(tenant.id), error));
  };

  router.post('/admin/tenants/:tenant/settings/signup', signedIn, save('signup', async (ctx, tenant) => {
    const form = parseInput(signUpForm, ctx.request.body);
    await deps.tenants.setEmailVerification(tenant.id, form.emailVerification);
    await deps.tenants.setEmailRecovery(tenant.id, form.emailRecovery === 'on');
    return ['email-verification', 'email-recovery'];
  }));

  router.post('/admin/tenants/:tenant/settings/branding', signedIn, save('branding', async (ctx, tenant) => {
    const form = parseInput(brandingForm, ctx.request.body);
    // Checked before anything is saved, so that a refused logo leaves the name and colour as they were.
    const logo = form.logo ? logoFromDataUrl(form.logo) : undefined;
    await deps.tenants.setDisplayName(tenant.id, form.displayName);
    await deps.tenants.setBrandColour(tenant.id, form.ownColour ? form.brandColour : null);
    if (logo) await deps.tenants.setLogo(tenant.id, logo);
    else if (form.removeLogo) await deps.tenants.setLogo(tenant.id, null);
    return ['display-name', 'brand-colour', ...(logo || form.removeLogo ? ['logo'] : [])];
  }));

  router.post('/admin/tenants/:tenant/settings/policy', signedIn, save('policy', async (ctx, tenant) => {
    const { relatedOrigins, algorithms, aaguidAllow, aaguidDeny, ...choices } = parseInput(policyForm, ctx.request.body);
    const verifiable = await runtimeAlgorithms();
    const chosen = algorithms.map((name) => {
      const id = ALGORITHM_NAMES[name];
      if (id === undefined || !verifiable.includes(id)) throw badRequest(`"${name}" is not a signature algorithm this server verifies.`, 'invalid_setting');
      return id;
    });
    if (chosen.length === 0) throw badRequest('Choose at least one signature algorithm.', 'invalid_setting');
    // Every box ticked is the default, which follows the runtime (ML-DSA once it has it), as `tenant set --algorithms default` does.
    const ids: AuthenticatorPolicy['algorithms'] = verifiable.every((id) => chosen.includes(id)) ? 'default' : verifiable.filter((id) => chosen.includes(id));
    const aaguids = (list: string[], what: string) => list.map((item) => {
      const aaguid = normaliseAaguid(item);
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(aaguid)) throw badRequest(`${what}: "${item}" is not an AAGUID (32 hex digits, dashes allowed).`, 'invalid_setting');
      return aaguid;
    });
    const change = { ...choices, algorithms: ids, aaguidAllow: aaguids(aaguidAllow, 'Only these models'), aaguidDeny: aaguids(aaguidDeny, 'Never these models') };
    // The policy's fields are checked by the form already; a bad origin refuses the form before anything changes.
    await deps.tenants.setRelatedOrigins(tenant.id, relatedOrigins);
    await deps.tenants.changeAuthenticatorPolicy(tenant.id, change);
    return ['authenticator-policy', 'related-origins'];
  }));

  return router;
}
