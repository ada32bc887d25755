#!/usr/bin/env node
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../storage/db.js';
import { SecretBox } from '../secrets/secret-box.js';
import { loadSecretKey } from '../secrets/secret-key.js';
import { createServices, type Services } from '../services.js';
import { SesameError } from '../errors.js';
import { issuerFor } from '../oidc/issuer.js';
import { PUBLISH_AHEAD_MS } from '../oidc/signing-keys.js';
import type { ClientAuth } from '../storage/repositories/clients.js';
import { PASSPORT_USAGE, PassportUsageError, runPassportCommand } from './passport-commands.js';
import { setTenantSettings, TENANT_SETTING_USAGE, TenantSettingError } from './tenant-settings.js';
import { RECOVERY_TTL_MS } from '../accounts/recovery-service.js';
import { MDS_USAGE, MdsUsageError, runMdsCommand } from './mds-commands.js';

const USAGE = `Usage: sesame <command> [options]

Tenants
  tenant create <id> --name "<display name>"   Create a tenant (its issuer is PUBLIC_URL/<id>/oidc)
  tenant list                                 List tenants
  tenant set <id> --email-verification required|off
                                              required (default): sign-up proves the e-mail address
                                              with a mailed code before the passkey is made;
                                              off: no code, and email_verified stays false
  tenant set <id> --email-recovery on|off     Whether people who lost their passkeys can get a
                                              code by e-mail (on by default)

Clients (relying parties)
  client create --tenant <id> [--redirect-uri <url>]... [--b2c <b2c-tenant-name>]
                [--entra <subdomain> [--entra-tenant-id <id>]]
                [--post-logout-redirect-uri <url>]... [--name <name>] [--require-pkce]
                [--auth-method client_secret_post|client_secret_basic|client_secret_jwt|private_key_jwt]
                [--jwks-uri <url> | --jwks <file>]
                                              Register a client; prints its id and secret (once)
                                              --b2c contoso registers contoso's B2C redirect URIs
                                              and prints what to type into B2C's form;
                                              --entra does the same for Entra External ID
                                              --auth-method: how it authenticates at the token
                                              endpoint (default client_secret_post); a
                                              private_key_jwt client has no secret but public keys
                                              (--jwks-uri, or a JWKS file with --jwks)
  client list --tenant <id>                   List a tenant's clients

  tenant webhook --tenant <id> --url <url>    Announce push sign-in requests to a native-app gateway
                                              (prints the signing secret); --remove to stop

Users and keys
  user list --tenant <id>                     List a tenant's users and their passkey count
  user link --tenant <id> --email <address>   A one-time sign-in link (15 minutes) for a person who
                                              lost every passkey: it leads to saving a new one
  keys rotate --tenant <id>                   Publish a new signing key; it signs 48 hours later

Settings come from the same environment as the server (DATABASE_URL, DATA_DIR, PUBLIC_URL, SESAME_SECRET_KEY).

${MDS_USAGE}

${PASSPORT_USAGE}`;

class UsageError extends Error {}

type Flags = Record<string, string | boolean | string[] | undefined>;

async function run(argv: string[], out: (line?: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tenant: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      b2c: { type: 'string' },
      entra: { type: 'string' },
      'entra-tenant-id': { type: 'string' },
      'email-verification': { type: 'string' },
      'require-pkce': { type: 'boolean' },
      'auth-method': { type: 'string' },
      'jwks-uri': { type: 'string' },
      jwks: { type: 'string' },
      url: { type: 'string' },
      remove: { type: 'boolean' },
      file: { type: 'string' },
      number: { type: 'string' },
      email: { type: 'string' },
      'email-recovery': { type: 'string' },
      'allow-stale': { type: 'boolean' },
      root: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [group, action, ...rest] = positionals;
  if (values.help || !group) {
    out(USAGE);
    return;
  }
  if (group === 'passport') {
    // Talks to a Sesame server over HTTPS like a phone; needs no database.
    await runPassportCommand(action, rest, values, out);
    return;
  }
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secrets: new SecretBox(loadSecretKey(config).key) });
  const services = createServices(config, database, createLogger('silent'));
  try {
    if (group === 'mds') await runMdsCommand(action, rest, values, services, out);
    else await dispatch(`${group} ${action ?? ''}`.trim(), rest, values, services, config, out);
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
        out(`Tenant "${tenantId}" no longer announces push requests to a webhook.`);
        return;
      }
      if (typeof flags.url !== 'string') throw new UsageError('Give the webhook address with --url <https://…>, or --remove.');
      const secret = await services.tenants.setWebhook(tenantId, flags.url);
      out(`Push sign-in requests of tenant "${tenantId}" are now announced to ${flags.url}.`);
      out(`Signing secret (shown once): ${secret}`);
      out('Each POST carries Sesame-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.');
      return;
    }
    case 'tenant set': {
      const [id] = rest;
      if (!id) throw new UsageError(`Give the tenant id: sesame tenant set <id> ${TENANT_SETTING_USAGE}.`);
      for (const line of await setTenantSettings(services, id, flags)) out(line);
      return;
    }
    case 'tenant list': {
      const tenants = await services.tenants.listTenants();
      if (tenants.length === 0) out('No tenants yet. Create one with: sesame tenant create <id> --name "<display name>"');
      for (const t of tenants) out(`${t.id}\t${t.name}\t${issuerFor(config.publicUrl, t.id)}`);
      return;
    }
    case 'client create': {
      const tenantId = tenantFlag();
      const client = await services.tenants.createClient({
        tenantId,
        name: typeof flags.name === 'string' ? flags.name : undefined,
        redirectUris: (flags['redirect-uri'] as string[] | undefined) ?? [],
        postLogoutRedirectUris: flags['post-logout-redirect-uri'] as string[] | undefined,
        requirePkce: flags['require-pkce'] === true,
        b2cTenant: typeof flags.b2c === 'string' ? flags.b2c : undefined,
        entraSubdomain: typeof flags.entra === 'string' ? flags.entra : undefined,
        entraTenantId: typeof flags['entra-tenant-id'] === 'string' ? flags['entra-tenant-id'] : undefined,
        authMethod: typeof flags['auth-method'] === 'string' ? flags['auth-method'] : undefined,
        jwksUri: typeof flags['jwks-uri'] === 'string' ? flags['jwks-uri'] : undefined,
        jwks: typeof flags.jwks === 'string' ? readJwksFile(flags.jwks) : undefined,
      });
      const method = client.auth.method;
      const hasSecret = method !== 'private_key_jwt';
      const metadataUrl = `${issuerFor(config.publicUrl, tenantId)}/.well-known/openid-configuration`;
      out(`Client "${client.name}" created in tenant "${tenantId}".`);
      out();
      out(`  Client ID:      ${client.clientId}`);
      if (hasSecret) out(`  Client secret:  ${client.clientSecret}`);
      out(`  Authentication: ${describeAuth(client.auth)}`);
      if (hasSecret) out('  The secret is shown only now (Sesame keeps no readable copy): store it in your relying party (or B2C) straight away.');
      out();
      if (typeof flags.b2c === 'string') {
        out('In the Azure portal: Azure AD B2C → Identity providers → New OpenID Connect provider, enter:');
        out(`  Name:           Sesame passkeys   (any name; users see it on the button)`);
        out(`  Metadata url:   ${metadataUrl}`);
        out(`  Client ID:      ${client.clientId}`);
        if (hasSecret) out(`  Client secret:  ${client.clientSecret}`);
        out('  Scope:          openid profile email');
        out('  Response type:  code');
        out('  Response mode:  form_post');
        out('  Domain hint:    (leave empty)');
        out('  Identity provider claims mapping:');
        out('    User ID:       sub');
        out('    Display name:  name');
        out('    Given name:    (leave empty)');
        out('    Surname:       (leave empty)');
        out('    Email:         email');
        if (method === 'private_key_jwt') {
          out('  User flows can only send a client secret: use a custom policy whose technical profile has');
          out('  token_endpoint_auth_method = private_key_jwt and your RSA key as assertion_signing_key.');
        } else if (method === 'client_secret_basic') {
          out('  User flows send the secret in the body; a custom policy can set token_endpoint_auth_method = client_secret_basic.');
        }
        out();
        if (!config.publicUrl.startsWith('https://')) {
          out(`  Note: B2C only accepts https metadata URLs; set PUBLIC_URL to this server's public https address (now ${config.publicUrl}).`);
          out();
        }
      }
      if (typeof flags.entra === 'string') {
        out('In the Microsoft Entra admin center (external tenant): External Identities → All identity providers →');
        out('Custom → Add new → OpenID Connect, enter:');
        out('  Display name:               Sesame passkeys');
        out(`  Well-known endpoint:        ${metadataUrl}`);
        out(`  Issuer URI:                 ${issuerFor(config.publicUrl, tenantId)}`);
        out(`  Client ID:                  ${client.clientId}`);
        out(`  Client authentication:      ${method === 'client_secret_post' ? 'client_secret' : method}`);
        if (hasSecret) out(`  Client secret:              ${client.clientSecret}`);
        out('  Scope:                      openid profile email');
        out('  Response type:              code');
        out('  Claims mapping:             Sub → sub, Name → name, Email → email, Email verified → email_verified');
        out('  Note: External ID creates accounts only for verified e-mail addresses: keep this tenant\'s');
        out(`  e-mail verification on (the default; sesame tenant set ${tenantId} --email-verification required).`);
        out();
      }
      if (typeof flags.b2c !== 'string' && typeof flags.entra !== 'string') {
        out(`  Metadata URL:   ${metadataUrl}`);
        out();
      }
      out('Redirect URIs registered:');
      for (const uri of client.redirectUris) out(`  ${uri}`);
      if (client.postLogoutRedirectUris.length) {
        out('Post-logout redirect URIs registered:');
        for (const uri of client.postLogoutRedirectUris) out(`  ${uri}`);
      }
      if (client.requirePkce) out('This client must use PKCE (S256).');
      return;
    }
    case 'client list': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const clients = await services.tenants.listClients(tenantId);
      if (clients.length === 0) out(`Tenant "${tenantId}" has no clients yet. Create one with: sesame client create --tenant ${tenantId} --b2c <name>`);
      for (const c of clients) out(`${c.clientId}\t${c.name}\t${c.auth.method}\t${c.redirectUris.join(' ')}${c.requirePkce ? '\t(PKCE required)' : ''}`);
      return;
    }
    case 'user list': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const users = await services.users.listByTenant(tenantId);
      if (users.length === 0) out(`Tenant "${tenantId}" has no users yet.`);
      for (const u of users) out(`${u.id}\t${u.email}\t${u.displayName}\t${u.credentialCount} passkey${u.credentialCount === 1 ? '' : 's'}\tsince ${new Date(u.createdAt).toISOString()}`);
      return;
    }
    case 'user link': {
      const tenantId = tenantFlag();
      if (typeof flags.email !== 'string') throw new UsageError('Give the person\'s e-mail address with --email <address>.');
      await services.tenants.requireTenant(tenantId);
      const { link, expiresAt, user } = await services.recovery.createAdminLink(tenantId, flags.email);
      out(`One-time sign-in link for ${user.displayName} <${user.email}> (tenant "${tenantId}"):`);
      out();
      out(`  ${link}`);
      out();
      out(`It works once, until ${new Date(expiresAt).toISOString()} (${RECOVERY_TTL_MS / 60_000} minutes), and leads to saving a new passkey.`);
      out('Give it to the person over a channel you trust them on: whoever opens it gets into the account.');
      return;
    }
    case 'keys rotate': {
      const tenantId = tenantFlag();
      await services.tenants.requireTenant(tenantId);
      const { next, removed } = await services.signingKeys.rotate(tenantId);
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
    if (error instanceof UsageError || error instanceof PassportUsageError || error instanceof TenantSettingError || error instanceof MdsUsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
      err(`sesame: ${message}\n\n${USAGE}`);
      return 2;
    }
    err(`sesame: ${error instanceof SesameError ? error.message : (error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; });
}
