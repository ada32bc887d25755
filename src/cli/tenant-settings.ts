import fs from 'node:fs';
import type { Services } from '../services.js';
import { checkLogo, contrastRatio, logoFromDataUrl, textColourOn, type Logo } from '../tenants/branding.js';
import { OutboundError } from '../net/outbound.js';
import { ALGORITHM_NAMES, CERTIFICATION_LEVELS, offeredAlgorithms, type AuthenticatorPolicy } from '../webauthn/policy/authenticator-policy.js';
import { isMlDsa, mlDsaAlgorithms } from '../webauthn/attestation/algorithms.js';
import { normaliseAaguid } from '../webauthn/metadata/authenticator-status.js';

/**
 * `sesame tenant set <id> --<flag> <value>`: one small function per setting, so that a new setting
 * is one more entry here (and its flag in main.ts's parseArgs options).
 */
export class TenantSettingError extends Error {}

interface Setting {
  /** The values it takes, for the usage line. */
  value: string;
  help: string[];
  set(services: Services, tenantId: string, value: string): Promise<string>;
}

function onOff(flag: string, value: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new TenantSettingError(`--${flag} takes on or off, not "${value}".`);
}

/** One of a fixed set of words. */
function oneOf<T extends string>(flag: string, value: string, words: readonly T[]): T {
  if ((words as readonly string[]).includes(value)) return value as T;
  throw new TenantSettingError(`--${flag} takes ${words.join(', ')}, not "${value}".`);
}

/** A setting of the tenant's authenticator policy: parses the flag's value into a change, answers one line. */
function policySetting(value: string, help: string[], change: (value: string) => Partial<AuthenticatorPolicy> | Promise<Partial<AuthenticatorPolicy>>,
  said: (policy: AuthenticatorPolicy) => string | Promise<string>): Setting {
  return {
    value,
    help,
    async set(services, tenantId, given) {
      const policy = await services.tenants.changeAuthenticatorPolicy(tenantId, await change(given));
      return `Tenant "${tenantId}": ${await said(policy)}`;
    },
  };
}

function aaguidList(flag: string, value: string): string[] {
  if (value === 'none') return [];
  return value.split(',').map((item) => {
    const aaguid = normaliseAaguid(item.trim());
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(aaguid)) {
      throw new TenantSettingError(`--${flag}: "${item}" is not an AAGUID (32 hex digits, dashes allowed).`);
    }
    return aaguid;
  });
}

/** `default`, or names of algorithms this runtime verifies (ML-DSA only where it has it). */
async function algorithmList(value: string): Promise<AuthenticatorPolicy['algorithms']> {
  if (value === 'default') return 'default';
  const verifiable = await mlDsaAlgorithms();
  return value.split(',').map((name) => {
    const id = ALGORITHM_NAMES[name.trim()];
    if (id === undefined) throw new TenantSettingError(`--algorithms: "${name}" is not one of ${Object.keys(ALGORITHM_NAMES).join(', ')}.`);
    if (isMlDsa(id) && !verifiable.includes(id)) {
      throw new TenantSettingError(`--algorithms: this server's runtime cannot verify ${name.trim()} (its Node.js has no ML-DSA; Node.js 24.7 and later have it).`);
    }
    return id;
  });
}

const algorithmNames = (ids: number[]) => ids.map((id) => Object.keys(ALGORITHM_NAMES).find((name) => ALGORITHM_NAMES[name] === id) ?? String(id)).join(', ');

async function saidAlgorithms(policy: AuthenticatorPolicy): Promise<string> {
  if (policy.algorithms === 'default') return `new passkeys may use every algorithm this server verifies (${algorithmNames(await offeredAlgorithms(policy))}).`;
  return `new passkeys may use ${algorithmNames(policy.algorithms)}.`;
}

/** The `tenant set` flags of the authenticator policy (src/webauthn/policy, docs/acr-amr.md). */
const POLICY_SETTINGS: Record<string, Setting> = {
  attestation: policySetting('none|direct|enterprise', ['Attestation conveyance asked for when a passkey is made (none by default). Any --trust', 'but any asks for direct attestation at least.'],
    (v) => ({ attestation: oneOf('attestation', v, ['none', 'direct', 'enterprise'] as const) }), (p) => `new passkeys are asked for ${p.attestation} attestation.`),
  trust: policySetting('any|attested|certified[:L1…L3plus]', ['Which passkeys may be made: any (default); attested (attestation verified to a trusted', 'root); certified (and FIDO Certified at the level given, L1 by default).'],
    (v) => {
      const [trust, level] = v.split(':');
      return { trust: oneOf('trust', trust!, ['any', 'attested', 'certified'] as const), ...(level ? { minimumCertification: oneOf('trust', level, CERTIFICATION_LEVELS) } : {}) };
    },
    (p) => p.trust === 'certified' ? `new passkeys must be FIDO Certified at ${p.minimumCertification} or higher.` : p.trust === 'attested' ? 'new passkeys must prove their make with a verified attestation.' : 'every kind of passkey may be registered.'),
  'aaguid-allow': policySetting('<aaguid>[,<aaguid>…]|none', ['Only these authenticator models may make passkeys (none: no allow list).'],
    (v) => ({ aaguidAllow: aaguidList('aaguid-allow', v) }), (p) => p.aaguidAllow.length ? `only ${p.aaguidAllow.length} authenticator model(s) may make passkeys.` : 'no allow list of authenticator models.'),
  'aaguid-deny': policySetting('<aaguid>[,<aaguid>…]|none', ['These authenticator models may not make passkeys (none: no deny list).'],
    (v) => ({ aaguidDeny: aaguidList('aaguid-deny', v) }), (p) => p.aaguidDeny.length ? `${p.aaguidDeny.length} authenticator model(s) may not make passkeys.` : 'no deny list of authenticator models.'),
  'synced-passkeys': policySetting('allowed|device-bound-only', ['device-bound-only refuses passkeys that may be synced (backup eligible), such as', 'those of iCloud Keychain, Google Password Manager and password managers.'],
    (v) => ({ syncedPasskeys: oneOf('synced-passkeys', v, ['allowed', 'device-bound-only'] as const) }),
    (p) => p.syncedPasskeys === 'allowed' ? 'synced passkeys are accepted.' : 'only passkeys that stay on one device are accepted.'),
  'user-verification': policySetting('required|preferred', ['required (default): every passkey ceremony must verify the person (PIN, biometric).'],
    (v) => ({ userVerification: oneOf('user-verification', v, ['required', 'preferred'] as const) }), (p) => `user verification is ${p.userVerification}.`),
  algorithms: policySetting('<name>[,<name>…]|default', [`Signature algorithms new passkeys may use: ${Object.keys(ALGORITHM_NAMES).join(', ')}.`,
    'default: every one the server verifies, in a sensible order (ML-DSA last, where the runtime has it).'],
    async (v) => ({ algorithms: await algorithmList(v) }), saidAlgorithms),
  'resident-key': policySetting('required|preferred', ['required (default): passkeys are discoverable, so people sign in without typing a name.'],
    (v) => ({ residentKey: oneOf('resident-key', v, ['required', 'preferred'] as const) }), (p) => `discoverable passkeys are ${p.residentKey}.`),
  attachment: policySetting('any|platform|cross-platform|hybrid', ['Which authenticator the browser offers first when a passkey is made: this device, a', 'security key, or a phone (hybrid); any (default): the browser chooses.'],
    (v) => ({ attachment: oneOf('attachment', v, ['any', 'platform', 'cross-platform', 'hybrid'] as const) }), (p) => `the browser offers ${p.attachment === 'any' ? 'any authenticator' : p.attachment} first.`),
  'counter-regression': policySetting('deny|allow-and-flag', ['What a sign count that did not move forward (a copied key?) does: deny (default) the', 'sign-in, or allow it; the passkey is flagged and the event recorded either way.'],
    (v) => ({ counterRegression: oneOf('counter-regression', v, ['deny', 'allow-and-flag'] as const) }),
    (p) => p.counterRegression === 'deny' ? 'a passkey whose counter goes back is refused (and flagged).' : 'a passkey whose counter goes back signs in, flagged.'),
  'related-origin': {
    value: '<https origin>[,<https origin>…]|none',
    help: ['Other sites whose pages may use this tenant\'s passkeys (WebAuthn Related Origin', 'Requests); served at /.well-known/webauthn.'],
    async set(services, tenantId, value) {
      const origins = await services.tenants.setRelatedOrigins(tenantId, value === 'none' ? [] : value.split(',').map((o) => o.trim()));
      return origins.length ? `Tenant "${tenantId}" accepts passkeys from ${origins.join(', ')} too.` : `Tenant "${tenantId}" accepts passkeys from ${services.config.publicUrl} only.`;
    },
  },
};

export const TENANT_SETTINGS: Record<string, Setting> = {
  'display-name': {
    value: '"<name>"',
    help: ['The name people read on the sign-in pages and in mails.'],
    async set(services, tenantId, value) {
      const name = await services.tenants.setDisplayName(tenantId, value);
      return `Tenant "${tenantId}" is now shown as "${name}".`;
    },
  },
  logo: {
    value: '<file>|<data: URL>|<https URL>|none',
    help: ['A PNG, JPEG or WebP of at most 64 KB, shown on every page and in mails. Sesame keeps', 'a copy and serves it itself. SVG is refused: it can carry script.'],
    async set(services, tenantId, value) {
      if (value === 'none') {
        await services.tenants.setLogo(tenantId, null);
        return `Tenant "${tenantId}" shows no logo.`;
      }
      const logo = await readLogo(services, value);
      await services.tenants.setLogo(tenantId, logo);
      return `Tenant "${tenantId}" shows its logo (${logo.type}, ${logo.bytes.length} bytes) at /${tenantId}/branding/logo.`;
    },
  },
  colour: {
    value: '#rrggbb|none',
    help: ['The primary colour of buttons and mail headers. Text on it is white or black, whichever', 'contrasts more (always at least 4.5:1).'],
    async set(services, tenantId, value) {
      const colour = await services.tenants.setBrandColour(tenantId, value === 'none' ? null : value);
      if (colour === null) return `Tenant "${tenantId}" uses Sesame's colours.`;
      const text = textColourOn(colour);
      return `Tenant "${tenantId}" uses ${colour}, with ${text === '#ffffff' ? 'white' : 'black'} text on it (contrast ${contrastRatio(colour, text).toFixed(1)}:1).`;
    },
  },
  'email-verification': {
    value: 'required|off',
    help: ['required (default): sign-up proves the e-mail address with a mailed code before the passkey', 'is made; off: no code, and email_verified stays false.'],
    async set(services, tenantId, value) {
      const setting = await services.tenants.setEmailVerification(tenantId, value);
      return setting === 'required'
        ? `Tenant "${tenantId}": sign-up now proves the e-mail address with a code sent to it (email_verified is true).`
        : `Tenant "${tenantId}": sign-up no longer asks for a code; new accounts have email_verified false.`;
    },
  },
  'email-recovery': {
    value: 'on|off',
    help: ['Whether people who lost their passkeys can get a code by e-mail (on by default).'],
    async set(services, tenantId, value) {
      const on = onOff('email-recovery', value);
      await services.tenants.setEmailRecovery(tenantId, on);
      return on
        ? `People of tenant "${tenantId}" who lost their passkeys can get a code by e-mail.`
        : `Tenant "${tenantId}" sends no recovery codes by e-mail: people use their recovery codes, or you give them a link (sesame user link).`;
    },
  },
  signup: {
    value: 'open|invitation',
    help: ['Who may create an account: anyone (open, the default) or only people with an invitation link',
      '(sesame invitation create, or the admin API: POST /api/tenants/<id>/invitations, docs/admin-api.md).'],
    async set(services, tenantId, value) {
      const setting = await services.tenants.setSignup(tenantId, oneOf('signup', value, ['open', 'invitation'] as const));
      return setting === 'open'
        ? `Anyone can create an account at tenant "${tenantId}".`
        : `Only people with an invitation can create an account at tenant "${tenantId}".`;
    },
  },
  'u2f-appid': {
    value: '<https URL>|none',
    help: ['The FIDO U2F AppID of keys registered before passkeys (imported with sesame u2f import):', 'they sign in through WebAuthn\'s appid extension. Sesame serves the trusted facets at', 'PUBLIC_URL/<id>/u2f/trusted-facets (that URL may be the AppID).'],
    async set(services, tenantId, value) {
      const app = await services.u2f.setAppId(tenantId, value === 'none' ? null : value);
      if (!app) return `Tenant "${tenantId}" has no U2F AppID: imported U2F keys cannot sign in until one is set again.`;
      return `Tenant "${tenantId}" has U2F AppID ${app.appId}; trusted facets ${app.facets.join(', ')} (served at ${services.u2f.trustedFacetsUrl(tenantId)}).`;
    },
  },
  'u2f-facets': {
    value: '<facet>[,<facet>…]',
    help: ['The trusted facets of the U2F AppID: https origins, android:apk-key-hash:… or ios:bundle-id:….'],
    async set(services, tenantId, value) {
      const app = await services.u2f.setFacets(tenantId, value.split(','));
      return `Tenant "${tenantId}" trusts these facets for U2F AppID ${app.appId}: ${app.facets.join(', ')}.`;
    },
  },
  ...POLICY_SETTINGS,
};

/** A logo from a data: URL, an https URL (fetched once, like any outbound request: public, small, quick) or a file. */
async function readLogo(services: Services, value: string): Promise<Logo> {
  if (value.startsWith('data:')) return logoFromDataUrl(value);
  if (/^https?:\/\//i.test(value)) {
    try {
      const response = await services.outbound.request({ url: value, headers: { accept: 'image/png,image/jpeg,image/webp' } });
      if (response.status !== 200) throw new TenantSettingError(`Fetching the logo from ${value} gave HTTP ${response.status}.`);
      return checkLogo(response.body);
    } catch (error) {
      if (error instanceof OutboundError) {
        throw new TenantSettingError(error.reason === 'too_large' ? 'The logo may be at most 64 KB.' : `Cannot fetch the logo: ${error.message}`);
      }
      throw error;
    }
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(value);
  } catch (error) {
    throw new TenantSettingError(`Cannot read the logo file ${value}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  return checkLogo(bytes);
}

/** Applies every setting flag given; answers one line per setting. */
export async function setTenantSettings(services: Services, tenantId: string, flags: Record<string, unknown>): Promise<string[]> {
  const given = Object.keys(TENANT_SETTINGS).filter((flag) => typeof flags[flag] === 'string');
  if (given.length === 0) throw new TenantSettingError(`Say what to set: one or more of ${Object.keys(TENANT_SETTINGS).map((f) => `--${f}`).join(', ')}.`);
  await services.tenants.requireTenant(tenantId);
  const lines: string[] = [];
  for (const flag of given) lines.push(await TENANT_SETTINGS[flag]!.set(services, tenantId, flags[flag] as string));
  return lines;
}
