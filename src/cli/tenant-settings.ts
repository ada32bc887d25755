import type { Services } from '../services.js';

/**
 * `sesame tenant set <id> --<flag> <value>`: one small function per setting, so that a new setting
 * is one more entry here (and its flag in main.ts's parseArgs options).
 */
export class TenantSettingError extends Error {}

type Setter = (services: Services, tenantId: string, value: string) => Promise<string>;

function onOff(flag: string, value: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new TenantSettingError(`--${flag} takes on or off, not "${value}".`);
}

export const TENANT_SETTINGS: Record<string, Setter> = {
  async 'email-verification'(services, tenantId, value) {
    const setting = await services.tenants.setEmailVerification(tenantId, value);
    return setting === 'required'
      ? `Tenant "${tenantId}": sign-up now proves the e-mail address with a code sent to it (email_verified is true).`
      : `Tenant "${tenantId}": sign-up no longer asks for a code; new accounts have email_verified false.`;
  },
  async 'email-recovery'(services, tenantId, value) {
    const on = onOff('email-recovery', value);
    await services.tenants.setEmailRecovery(tenantId, on);
    return on
      ? `People of tenant "${tenantId}" who lost their passkeys can get a code by e-mail.`
      : `Tenant "${tenantId}" sends no recovery codes by e-mail: people use their recovery codes, or you give them a link (sesame user link).`;
  },
};

const VALUES: Record<string, string> = { 'email-verification': 'required|off' };
export const TENANT_SETTING_USAGE = Object.keys(TENANT_SETTINGS).map((flag) => `--${flag} ${VALUES[flag] ?? 'on|off'}`).join(' ');

/** Applies every setting flag given; answers one line per setting. */
export async function setTenantSettings(services: Services, tenantId: string, flags: Record<string, unknown>): Promise<string[]> {
  const given = Object.keys(TENANT_SETTINGS).filter((flag) => typeof flags[flag] === 'string');
  if (given.length === 0) throw new TenantSettingError(`Say what to set: sesame tenant set ${tenantId} ${TENANT_SETTING_USAGE}.`);
  await services.tenants.requireTenant(tenantId);
  const lines: string[] = [];
  for (const flag of given) lines.push(await TENANT_SETTINGS[flag]!(services, tenantId, flags[flag] as string));
  return lines;
}
