#!/usr/bin/env node
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../storage/db.js';
import { SecretBox } from '../secrets/secret-box.js';
import { loadSecretKey } from '../secrets/secret-key.js';
import { createServices, type Services } from '../services.js';
import { SesameError } from '../errors.js';
import { issuerFor } from '../oidc/issuer.js';
import { PUBLISH_AHEAD_MS } from '../oidc/signing-keys.js';
import { relyingPartySetup, type RelyingPartySetup } from '../tenants/relying-party-setup.js';
import type { ClientAuth } from '../storage/repositories/clients.js';
import { PassportUsageError, runPassportCommand } from './passport-commands.js';
import { setTenantSettings, TENANT_SETTINGS, TenantSettingError } from './tenant-settings.js';
import { commandHelp, findCommand, overview, usageLine } from './commands.js';
import { table } from './table.js';
import { loadEnvFile } from '../env-file.js';
import { RECOVERY_TTL_MS } from '../accounts/recovery-service.js';
import { MdsUsageError, runMdsCommand } from './mds-commands.js';
import { runU2fCommand, U2fUsageError } from './u2f-commands.js';
import { AuditUsageError, runAuditCommand } from './audit-commands.js';
import { runTrustCommand, TrustUsageError } from './trust-commands.js';
import { InvitationUsageError, runInvitationCommand } from './invitation-commands.js';
import { runWithAuditContext } from '../audit/audit-context.js';
import { AdminUsageError, runAdminCreate, runTenantInvite } from './admin-commands.js';
import { sesameVersion } from '../version.js';

class UsageError extends Error {}

type Flags = Record<string, string | boolean | string[] | undefined>;

const OPTIONS = {
  name: { type: 'string' },
  tenant: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'backchannel-logout-uri': { type: 'string' },
  b2c: { type: 'string' },
  entra: { type: 'string' },
  'entra-tenant-id': { type: 'string' },
  'require-pkce': { type: 'boolean' },
  'auth-method': { type: 'string' },
  'jwks-uri': { type: 'string' },
  jwks: { type: 'string' },
  url: { type: 'string' },
  remove: { type: 'boolean' },
  file: { type: 'string' },
  number: { type: 'string' },
  protocol: { type: 'string' },
  email: { type: 'string' },
  yes: { type: 'boolean' },
  'allow-stale': { type: 'boolean' },
  root: { type: 'string', multiple: true },
  user: { type: 'string' },
  type: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  operator: { type: 'boolean' },
  expires: { type: 'string' },
  // invitation create
  uses: { type: 'string' },
  days: { type: 'string' },
  group: { type: 'string', multiple: true },
  send: { type: 'boolean' },
  client: { type: 'string' },
  // tenant set: one per entry of TENANT_SETTINGS
  ...Object.fromEntries(Object.keys(TENANT_SETTINGS).map((flag) => [flag, { type: 'string' }])),
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies ParseArgsConfig['options'];

export { sesameVersion };

/**
 * The arguments with every word that looks like an id starting with a dash moved after `--`, in
 * order, so that parseArgs takes it as a value. Sesame's ids (tokens, people, passkeys, clients) are
 * base64url, and one in 64 starts with "-": `sesame token revoke -Xq…` must revoke that token, not
 * complain about an option "-X". Such a word is one dash and more than one character (-h and -V are
 * our only short options); words starting with "--" stay options, so a mistyped option is still
 * refused (an id starting with "--" is given after a `--` of the caller's own). An option's value
 * that starts with a dash is kept with it, as `--option=value`.
 */
export function idsAfterDoubleDash(argv: string[]): string[] {
  const options: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i];
    if (word === '--') {
      values.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || (/^-[^-]/.test(word) && word.length > 2)) {
      values.push(word);
      continue;
    }
    const option = (OPTIONS as Record<string, { type: string }>)[word.slice(2)];
    // Last, it would be followed by our `--` and parseArgs would call its missing value "ambiguous".
    if (option?.type === 'string' && i + 1 === argv.length) throw new UsageError(`Option '${word} <value>' argument missing.`);
    if (option?.type === 'string' && i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      options.push(`${word}=${argv[i + 1]}`);
      i += 1;
    } else {
      options.push(word);
    }
  }
  return [...options, '--', ...values];
}

async function run(argv: string[], out: (line?: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args: idsAfterDoubleDash(argv), allowPositionals: true, options: OPTIONS });
  if (values.version) {
    out(`sesame ${sesameVersion()}`);
    return;
  }
  const [group, action, ...rest] = positionals;
  if (group === 'help' || (!group && values.help) || !group) {
    const words = group === 'help' ? positionals.slice(1) : [];
    if (words.length === 0) {
      out(overview(sesameVersion()));
      return;
    }
    const command = findCommand(words);
    if (!command) throw new UsageError(`There is no command "${words.join(' ')}".`);
    out(commandHelp(command));
    return;
  }
  if (values.help) {
    const command = findCommand([group, action ?? '']);
    if (!command) throw new UsageError(`There is no command "${[group, action].filter(Boolean).join(' ')}".`);
    out(commandHelp(command));
    return;
  }
  if (group === 'passport') {
    // Talks to a Sesame server over HTTPS like a phone; needs no database.
    await runPassportCommand(action, rest, values, out);
    return;
  }
  if (!findCommand([group, action ?? ''])) throw new UsageError(`Unknown command "${[group, action].filter(Boolean).join(' ')}".`);
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secrets: new SecretBox(loadSecretKey(config).key) });
  const services = createServices(config, database, createLogger('silent'));
  try {
    // Administrators' changes are audit events with actor 'cli' (and no address or browser).
    await runWithAuditContext({ actor: 'cli' }, async () => {
      if (group === 'mds') await runMdsCommand(action, rest, values, services, out);
      else if (group === 'u2f') await runU2fCommand(action, rest, values, services, out);
      else if (group === 'audit') await runAuditCommand(action, values, services, out);
      else if (group === 'trust') await runTrustCommand(action, rest, values, services, out);
      else if (group === 'invitation') await runInvitationCommand(action, rest, values, services, out);
      else await dispatch(`${group} ${action ?? ''}`.trim(), rest, values, services, config, out);
    });
  } finally {
    await database.close();
  }
}

async function dispatch(command: string, rest: string[], flags: Flags, services: Services, config: Config, out: (line?: string) => void): Promise<void> {
  const tenantFlag = () => {
    if (typeof flags.tenant !== 'string' || !flags.tenant) throw new UsageError(`"${command}" needs --tenant <id>.`);
    return flags.tenant;
  };
  switch (command) {
    case 'tenant create': {
      const [id] = rest;
      if (!id) throw new UsageError('Give the tenant id: sesame tenant create <id> --name "<display name>".');
      if (typeof flags.name !== 'string') throw new UsageError('Give the tenant a display name with --name "<display name>".');
      const tenant = await services.tenants.createTenant(id, flags.name);
      await services.audit.record({ type: 'admin.tenant_created', tenantId: tenant.id, detail: { name: tenant.name } });
      out(`Tenant "${tenant.id}" (${tenant.name}) created.`);
      out(`  Issuer:       ${issuerFor(config.publicUrl, tenant.id)}`);
      out(`  Metadata URL: ${issuerFor(config.publicUrl, tenant.id)}/.well-known/openid-configuration`);
      out(`Next: sesame client create --tenant ${tenant.id} --b2c <your-b2c-tenant-name>`);
      return;
    }
    case 'tenant webhook': {
      const tenantId = tenantFlag();
      if (flags.remove === true) {
        await services.tenants.setWebhook(tenantId, null);
        await services.audit.record({ type: 'admin.tenant_changed', tenantId, detail: { webhook: null } });
        out(`Tenant "${tenantId}" no longer announces push requests to a webhook.`);
        return;
      }
      if (typeof flags.url !== 'string') throw new UsageError('Give the webhook address with --url <https://…>, or --remove.');
      const secret = await services.tenants.setWebhook(tenantId, flags.url);
      await services.audit.record({ type: 'admin.tenant_changed', tenantId, detail: { webhook: flags.url } });
      out(`Push sign-in requests of tenant "${tenantId}" are now announced to ${flags.url}.`);
      out(`Signing secret (shown once): ${secret}`);
      out('Each POST carries Sesame-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.');
      return;
    }
    case 'tenant set': {
      const [id] = rest;
      if (!id) throw new UsageError('Give the tenant id: sesame tenant set <id> --<setting> <value>.');
      for (const line of await setTenantSettings(services, id, flags)) out(line);
      await services.audit.record({ type: 'admin.tenant_changed', tenantId: id, detail: { settings: Object.keys(TENANT_SETTINGS).filter((flag) => flags[flag] !== undefined) } });
      return;
    }
    case 'tenant invite':
      await runTenantInvite(rest, services, out);
      return;
    case 'admin create':
      await runAdminCreate(rest, services, out);
      return;
    case 'tenant list': {
      const tenants = await services.tenants.listTenants();
      if (tenants.length === 0) out('No tenants yet. Create one with: sesame tenant create <id> --name "<display name>"');
      else for (const line of table(['ID', 'DISPLAY NAME', 'ISSUER'], tenants.map((t) => [t.id, t.name, issuerFor(config.publicUrl, t.id)]))) out(line);
      return;
    }
    case 'client create': {
      const tenantId = tenantFlag();
      const tenant = await services.tenants.requireTenant(tenantId);
      const client = await services.tenants.createClient({
        tenantId,
        name: typeof flags.name === 'string' ? flags.name : await askClientName(tenant.name),
        redirectUris: (flags['redirect-uri'] as string[] | undefined) ?? [],
        postLogoutRedirectUris: flags['post-logout-redirect-uri'] as string[] | undefined,
        requirePkce: flags['require-pkce'] === true,
        b2cTenant: typeof flags.b2c === 'string' ? flags.b2c : undefined,
        entraSubdomain: typeof flags.entra === 'string' ? flags.entra : undefined,
        entraTenantId: typeof flags['entra-tenant-id'] === 'string' ? flags['entra-tenant-id'] : undefined,
        authMethod: typeof flags['auth-method'] === 'string' ? flags['auth-method'] : undefined,
        jwksUri: typeof flags['jwks-uri'] === 'string' ? flags['jwks-uri'] : undefined,
        jwks: typeof flags.jwks === 'string' ? readJwksFile(flags.jwks) : undefined,
        backchannelLogoutUri: typeof flags['backchannel-logout-uri'] === 'string' ? flags['backchannel-logout-uri'] : undefined,
      });
      await services.audit.record({ type: 'admin.client_created', tenantId, detail: { clientId: client.clientId, name: client.name, authMethod: client.auth.method, redirectUris: client.redirectUris } });
      const method = client.auth.method;
      const hasSecret = method !== 'private_key_jwt';
      out(`Client "${client.name}" created in tenant "${tenantId}".`);
      out();
      out(`  Client ID:      ${client.clientId}`);
      if (hasSecret) out(`  Client secret:  ${client.clientSecret}`);
      out(`  Authentication: ${describeAuth(client.auth)}`);
      if (hasSecret) out('  The secret is shown only now (Sesame keeps no readable copy): store it in your relying party (or B2C) straight away.');
      out();
      for (const setup of relyingPartySetup(config.publicUrl, {
        tenantId, clientId: client.clientId, authMethod: method, clientSecret: client.clientSecret,
        b2cTenant: typeof flags.b2c === 'string' ? flags.b2c : undefined,
        entraSubdomain: typeof flags.entra === 'string' ? flags.entra : undefined,
      })) printSetup(setup, out);
      out('Redirect URIs registered:');
      for (const uri of client.redirectUris) out(`  ${uri}`);
      if (client.postLogoutRedirectUris.length) {
        out('Post-logout redirect URIs registered:');
        for (const uri of client.postLogoutRedirectUris) out(`  ${uri}`);
      }
      if (client.requirePkce) out('This client must use PKCE (S256).');
      if (client.backchannelLogoutUri) out(`Back-channel logout tokens go to ${client.backchannelLogoutUri}.`);
      return;
    }
    case 'client list': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const clients = await services.tenants.listClients(tenantId);
      if (clients.length === 0) out(`Tenant "${tenantId}" has no clients yet. Create one with: sesame client create --tenant ${tenantId} --b2c <name>`);
      else {
        const rows = clients.map((c) => [c.clientId, c.name, c.auth.method, c.requirePkce ? 'required' : 'optional', c.redirectUris.join(' ')]);
        for (const line of table(['CLIENT ID', 'NAME', 'AUTHENTICATION', 'PKCE', 'REDIRECT URIS'], rows)) out(line);
      }
      return;
    }
    case 'user list': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const users = await services.users.listByTenant(tenantId);
      if (users.length === 0) out(`Tenant "${tenantId}" has no users yet.`);
      else {
        const rows = users.map((u) => [u.id, u.email, u.displayName, String(u.credentialCount), u.disabled ? 'disabled' : 'active', new Date(u.createdAt).toISOString().slice(0, 10)]);
        for (const line of table(['ID', 'E-MAIL', 'NAME', 'PASSKEYS', 'STATUS', 'SINCE'], rows)) out(line);
      }
      return;
    }
    case 'user disable': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const user = await services.userAdmin.disable(tenantId, emailFlag(flags, command));
      out(`${user.displayName} <${user.email}> is disabled in tenant "${tenantId}": they cannot sign in, and their sessions have ended.`);
      out(`To undo: sesame user enable --tenant ${tenantId} --email ${user.email}`);
      return;
    }
    case 'user enable': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const user = await services.userAdmin.enable(tenantId, emailFlag(flags, command));
      out(`${user.displayName} <${user.email}> can sign in to tenant "${tenantId}" again.`);
      return;
    }
    case 'user delete': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const email = emailFlag(flags, command);
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      if (flags.yes !== true) {
        const { user, passkeys, phones } = await services.userAdmin.previewDeletion(tenantId, email);
        out(`This would delete ${user.displayName} <${user.email}> from tenant "${tenantId}", with ${plural(passkeys, 'passkey')}, ${plural(phones, 'phone')},`);
        out('their recovery codes and every session they have. It cannot be undone. Nothing was deleted.');
        out(`To delete: sesame user delete --tenant ${tenantId} --email ${user.email} --yes`);
        return;
      }
      const { user, passkeys, phones } = await services.userAdmin.delete(tenantId, email);
      out(`Deleted ${user.displayName} <${user.email}> from tenant "${tenantId}", with ${plural(passkeys, 'passkey')} and ${plural(phones, 'phone')}; their sessions have ended.`);
      return;
    }
    case 'user link': {
      const tenantId = tenantFlag();
      const email = emailFlag(flags, command);
      await services.tenants.requireTenant(tenantId);
      const { link, expiresAt, user } = await services.recovery.createAdminLink(tenantId, email);
      await services.audit.record({ type: 'admin.recovery_link_created', tenantId, userId: user.id, email: user.email, detail: { expiresAt: new Date(expiresAt).toISOString() } });
      out(`One-time sign-in link for ${user.displayName} <${user.email}> (tenant "${tenantId}"):`);
      out();
      out(`  ${link}`);
      out();
      out(`It works once, until ${new Date(expiresAt).toISOString()} (${RECOVERY_TTL_MS / 60_000} minutes), and leads to saving a new passkey.`);
      out('Give it to the person over a channel you trust them on: whoever opens it gets into the account.');
      return;
    }
    case 'token create': {
      if ((typeof flags.tenant === 'string') === (flags.operator === true)) throw new UsageError('Give either --tenant <id> (one tenant) or --operator (every tenant).');
      const days = typeof flags.expires === 'string' ? Number(flags.expires) : undefined;
      if (days !== undefined && !/^\d+$/.test(String(flags.expires))) throw new UsageError(`--expires takes a number of days, not "${flags.expires}".`);
      const { token, record } = await services.apiTokens.create({ tenantId: flags.operator === true ? null : tenantFlag(), name: typeof flags.name === 'string' ? flags.name : undefined, expiresInDays: days });
      out(`API token ${record.id} ("${record.name}") for ${record.tenantId === null ? 'every tenant (operator)' : `tenant "${record.tenantId}"`}, valid until ${new Date(record.expiresAt).toISOString()}:`);
      out();
      out(`  ${token}`);
      out();
      out('It is shown only now (Sesame keeps only its hash). Send it as Authorization: Bearer <token>.');
      out(`The API: ${config.publicUrl}/api/openapi.json. Revoke it with: sesame token revoke ${record.id}`);
      return;
    }
    case 'token list': {
      const scope = flags.operator === true ? null : typeof flags.tenant === 'string' ? flags.tenant : undefined;
      const now = Date.now();
      const tokens = await services.apiTokens.list(scope);
      if (tokens.length === 0) out('No API tokens. Make one with: sesame token create --tenant <id>');
      else {
        const state = (t: { revokedAt: number | null; expiresAt: number }) => (t.revokedAt !== null ? 'revoked' : t.expiresAt <= now ? 'expired' : 'active');
        const rows = tokens.map((t) => [t.id, t.tenantId ?? '* (operator)', t.name, new Date(t.expiresAt).toISOString().slice(0, 10), state(t), t.lastUsedAt ? new Date(t.lastUsedAt).toISOString().slice(0, 16) : '-']);
        for (const line of table(['ID', 'TENANT', 'NAME', 'EXPIRES', 'STATE', 'LAST USED'], rows)) out(line);
      }
      return;
    }
    case 'token revoke': {
      const [id] = rest;
      if (!id) throw new UsageError('Give the token\'s id (sesame token list shows it): sesame token revoke <id>.');
      const token = await services.apiTokens.revoke(id);
      out(`API token ${token.id} ("${token.name}") is revoked: it no longer works.`);
      return;
    }
    case 'keys rotate': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const { next, removed } = await services.signingKeys.rotate(tenantId);
      await services.audit.record({ type: 'admin.keys_rotated', tenantId, detail: { kid: next.kid, activatesAt: new Date(next.activatesAt).toISOString(), removed } });
      out(`New signing key ${next.kid} published for tenant "${tenantId}".`);
      out(`It appears in the JWKS within a minute and starts signing ID tokens at ${new Date(next.activatesAt).toISOString()}`);
      out(`(${PUBLISH_AHEAD_MS / 3600_000} hours from now, so relying parties that cache keys already know it).`);
      if (removed.length) out(`Retired keys removed: ${removed.join(', ')}`);
      return;
    }
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

/** The values of one Microsoft form (or a relying party's settings), aligned as a person copies them. */
function printSetup(setup: RelyingPartySetup, out: (line?: string) => void): void {
  const width = setup.product === 'entra-external-id' ? 28 : 16;
  if (setup.product === 'azure-ad-b2c') out(`In the Azure portal: ${setup.where}, enter:`);
  else if (setup.product === 'entra-external-id') out(`In the ${setup.where}, enter:`);
  let group: string | undefined;
  // The client's id and secret are printed above it already.
  const fields = setup.product === 'openid-connect' ? setup.fields.filter((f) => f.label === 'Metadata URL') : setup.fields;
  for (const field of fields) {
    if (field.group && field.group !== group) out(`  ${field.group}:`);
    group = field.group;
    out(field.group ? `    ${`${field.label}:`.padEnd(width - 1)}${field.value}` : `  ${`${field.label}:`.padEnd(width)}${field.value}`);
  }
  for (const note of setup.notes) out(`  ${note}`);
  out();
}

function emailFlag(flags: Flags, command: string): string {
  if (typeof flags.email !== 'string' || !flags.email) throw new UsageError(`"${command}" needs the person's e-mail address: --email <address>.`);
  return flags.email;
}

/** The name end users read; asked in a terminal, the tenant's display name otherwise (never a B2C tenant name). */
async function askClientName(tenantName: string): Promise<string> {
  if (!process.stdin.isTTY) return tenantName;
  const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await prompt.question(`Name people see when they sign in ("Sign in to …") [${tenantName}]: `);
    return answer.trim() || tenantName;
  } finally {
    prompt.close();
  }
}

function describeAuth(auth: ClientAuth): string {
  switch (auth.method) {
    case 'client_secret_post': return 'client_secret_post (the secret in the token request body; client_secret_basic works too)';
    case 'client_secret_basic': return 'client_secret_basic (the secret in an Authorization: Basic header; client_secret_post works too)';
    case 'client_secret_jwt': return 'client_secret_jwt (a client assertion JWT signed with the secret, HS256)';
    case 'private_key_jwt': return `private_key_jwt (a client assertion JWT signed with the client's private key; public keys ${auth.jwks ? `registered: ${auth.jwks.keys.length}` : `from ${auth.jwksUri}`})`;
  }
}

function readJwksFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the JWKS file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`The JWKS file ${file} is not JSON; it should look like {"keys": [{"kty": "RSA", "n": "…", "e": "AQAB"}]}.`);
  }
}

export async function main(
  argv = process.argv.slice(2),
  out: (line?: string) => void = (line = '') => console.log(line),
  err: (line: string) => void = (line) => console.error(line),
): Promise<number> {
  try {
    await run(argv, out);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof PassportUsageError || error instanceof TenantSettingError || error instanceof MdsUsageError || error instanceof U2fUsageError || error instanceof AuditUsageError || error instanceof TrustUsageError || error instanceof InvitationUsageError || error instanceof AdminUsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
      // The command's own usage line, not the whole list: the one thing to fix is in it.
      const command = findCommand(argv.filter((a) => !a.startsWith('-')).slice(0, 2));
      const hint = command
        ? `${usageLine(command)}\nMore: sesame help ${command.name}`
        : 'The commands: sesame help';
      err(`sesame: ${message}\n${hint}`);
      return 2;
    }
    err(`sesame: ${error instanceof SesameError ? error.message : (error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    loadEnvFile();
  } catch (error) {
    console.error(`sesame: ${(error as Error).message}`);
    process.exit(1);
  }
  main().then((code) => { process.exitCode = code; });
}
