import fs from 'node:fs';
import type { Services } from '../services.js';
import { checkLogo, contrastRatio, logoFromDataUrl, textColourOn, type Logo } from '../tenants/branding.js';
import { OutboundError } from '../net/outbound.js';

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
