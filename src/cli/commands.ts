import { TENANT_SETTINGS } from './tenant-settings.js';

/**
 * What `sesame` says about itself: the overview (`sesame help`), one command's help
 * (`sesame help <command>`, `sesame <command> --help`), and the usage line shown with an error.
 */
export interface CommandHelp {
  name: string;
  group: string;
  /** The arguments after the command's name. */
  args: string;
  summary: string;
  details?: string[];
}

const tenantSetArgs = `<id> ${Object.entries(TENANT_SETTINGS).map(([flag, s]) => `[--${flag} ${s.value}]`).join(' ')}`;

export const COMMANDS: CommandHelp[] = [
  { name: 'tenant create', group: 'Tenants', args: '<id> --name "<display name>"', summary: 'Create a tenant (its issuer is PUBLIC_URL/<id>/oidc)',
    details: ['The display name is what people read on the sign-in pages and in mails; change it with tenant set --display-name.'] },
  { name: 'tenant invite', group: 'Tenants', args: '<email>', summary: 'Invite an organisation to set up its tenant at PUBLIC_URL/onboard (prints and mails the link)',
    details: ['Needs ONBOARDING=invite (or open) on the server. The link works once, for 24 hours.'] },
  { name: 'tenant list', group: 'Tenants', args: '', summary: 'List tenants with their issuers' },
  { name: 'tenant set', group: 'Tenants', args: tenantSetArgs, summary: 'Change a tenant\'s settings and branding',
    details: Object.entries(TENANT_SETTINGS).flatMap(([flag, s]) => [`--${flag} ${s.value}`, ...s.help.map((line) => `    ${line}`)]) },
  { name: 'tenant webhook', group: 'Tenants', args: '--tenant <id> (--url <https://…> | --remove)', summary: 'Announce push sign-in requests to a native-app gateway',
    details: ['Prints the signing secret once. Each POST carries Sesame-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.'] },
  { name: 'client create', group: 'Clients (relying parties)',
    args: '--tenant <id> --name <name> [--redirect-uri <url>]... [--b2c <b2c-tenant-name>] [--entra <subdomain> [--entra-tenant-id <id>]] '
      + '[--post-logout-redirect-uri <url>]... [--require-pkce] [--auth-method client_secret_post|client_secret_basic|client_secret_jwt|private_key_jwt] '
      + '[--jwks-uri <url> | --jwks <file>] [--backchannel-logout-uri <url>]',
    summary: 'Register a client; prints its id and secret (once)',
    details: [
      '--name: what people read on the sign-in page ("Sign in to <name>"). Without it you are asked',
      '    (in a terminal), or the tenant\'s display name is used; never the B2C or Entra tenant name.',
      '--b2c contoso registers contoso\'s Azure AD B2C redirect URIs and prints what to type into B2C\'s form;',
      '--entra does the same for Entra External ID.',
      '--auth-method: how it authenticates at the token endpoint (default client_secret_post); a',
      '    private_key_jwt client has no secret but public keys (--jwks-uri, or a JWKS file with --jwks).',
      '--backchannel-logout-uri: where OIDC Back-Channel Logout tokens are posted when a user\'s session ends',
      '    (sign-out, or an administrator disables or deletes the user).',
    ] },
  { name: 'client list', group: 'Clients (relying parties)', args: '--tenant <id>', summary: 'List a tenant\'s clients' },
  { name: 'user list', group: 'Users', args: '--tenant <id>', summary: 'List a tenant\'s users, their passkeys and whether they are disabled' },
  { name: 'user link', group: 'Users', args: '--tenant <id> --email <address>', summary: 'A one-time sign-in link (15 minutes) for a person who lost every passkey',
    details: ['It leads to saving a new passkey. Give it over a channel you trust the person on.'] },
  { name: 'user disable', group: 'Users', args: '--tenant <id> --email <address>', summary: 'Stop a person signing in (and end their sessions); reversible',
    details: ['Passkeys, phones and recovery codes stay, unusable until user enable.'] },
  { name: 'user enable', group: 'Users', args: '--tenant <id> --email <address>', summary: 'Let a disabled person sign in again' },
  { name: 'user delete', group: 'Users', args: '--tenant <id> --email <address> [--yes]', summary: 'Delete a person with their passkeys, phones and sessions',
    details: ['Without --yes it only says what would be deleted. It cannot be undone.'] },
  { name: 'keys rotate', group: 'Keys', args: '--tenant <id>', summary: 'Publish a new signing key; it signs 48 hours later' },
  { name: 'admin create', group: 'Console administrators', args: '<email>', summary: 'Make an operator administrator (every tenant): prints a one-time enrolment link',
    details: ['The link (24 hours, once) creates the passkey that signs in to PUBLIC_URL/admin. For an existing',
      'administrator it adds a passkey (a lost one is replaced this way).'] },
  { name: 'token create', group: 'Admin API tokens', args: '(--tenant <id> | --operator) [--name <name>] [--expires <days>]',
    summary: 'Make an admin API token; prints it once',
    details: ['--tenant: the token manages that tenant only; --operator: every tenant (and may create tenants).',
      '--expires: days until it stops working (default 90, at most 366). Sesame keeps only its hash.',
      'Use it as Authorization: Bearer <token>; the API is described at PUBLIC_URL/api/openapi.json (docs/admin-api.md).'] },
  { name: 'token list', group: 'Admin API tokens', args: '[--tenant <id> | --operator]', summary: 'List tokens (never the tokens themselves): id, tenant, name, expiry, state' },
  { name: 'token revoke', group: 'Admin API tokens', args: '<token id>', summary: 'Revoke a token: it stops working at once' },
  { name: 'invitation create', group: 'Invitations (for tenants whose sign-up is by invitation)',
    args: '--tenant <id> [--email <address> [--send [--client <client id>]]] [--uses <n>] [--days <n>] [--group <group id or name>]...',
    summary: 'Invite people to create an account: prints the link once, or mails it',
    details: ['--email: only this address may use it; --send mails it there (through the outbox: the running server sends it),',
      '    naming the organisation, the application (--client\'s name, or the tenant\'s only client) and when it expires.',
      '--uses: how many accounts it may create (default 1); --days: how long it works (default 7, at most 30).',
      '--group: the new accounts join this group (repeat for more).',
      'Close sign-up with: sesame tenant set <id> --signup invitation.'] },
  { name: 'invitation list', group: 'Invitations (for tenants whose sign-up is by invitation)', args: '--tenant <id>', summary: 'A tenant\'s invitations: for whom, uses, expiry, state' },
  { name: 'invitation revoke', group: 'Invitations (for tenants whose sign-up is by invitation)', args: '--tenant <id> <invitation id>', summary: 'Withdraw an invitation: nobody can use it any more' },
  { name: 'mds load', group: 'FIDO metadata (MDS3)', args: '<file or https URL> [--allow-stale] [--root <pem file>]...', summary: 'Verify a metadata BLOB and put it in force',
    details: ['--allow-stale and --root (an extra trusted root) are for test and conformance BLOBs only.'] },
  { name: 'mds status', group: 'FIDO metadata (MDS3)', args: '', summary: 'The BLOB in force, its security reports and the passkeys they flag' },
  { name: 'trust add', group: 'Attestation roots (which security keys count as attested)', args: '--tenant <id> <file.pem>',
    summary: 'Trust a root for passkeys\' attestation chains, besides the FIDO metadata\'s',
    details: ['The file: one or more PEM certificates, each a CA certificate valid today (an attestation certificate',
      '    itself is refused). A passkey whose chain reaches one counts as attested (tenant set --trust attested),',
      '    and records the root. Use it for security keys the FIDO metadata does not list, such as your company\'s own.'] },
  { name: 'trust list', group: 'Attestation roots (which security keys count as attested)', args: '--tenant <id>', summary: 'The attestation roots a tenant trusts, with their fingerprints' },
  { name: 'trust remove', group: 'Attestation roots (which security keys count as attested)', args: '--tenant <id> <SHA-256 fingerprint|all>',
    summary: 'Stop trusting an attestation root (passkeys registered before keep their record)' },
  { name: 'u2f import', group: 'FIDO U2F', args: '<file> --tenant <id>', summary: 'Import U2F registrations as credentials that sign in through the appid extension',
    details: ['The file: JSON lines or a JSON array of {keyHandle, publicKey (65-byte point), counter, appId, email, displayName?},',
      '    key handle and key in websafe base64. Only the tenant\'s AppID (tenant set --u2f-appid) is accepted.',
      'A person not known yet gets an account with email_verified false. Each record is imported or refused, with the reason.'] },
  { name: 'audit list', group: 'Audit log', args: '--tenant <id> [--user <email>] [--type <event>] [--since <iso>] [--until <iso>]',
    summary: 'Security events of a tenant, oldest first',
    details: ['--type: signin.succeeded, signin.failed, passkey.added, admin.user_deleted … (README.md, "Audit log", lists them).',
      '--since is inclusive, --until exclusive: 2025-01-31 or 2025-01-31T12:00:00Z. --tenant "*": changes for every tenant (mds load).'] },
  { name: 'audit export', group: 'Audit log', args: '--tenant <id> [--user <email>] [--type <event>] [--since <iso>] [--until <iso>]',
    summary: 'The same events as JSON lines on stdout (one event a line)' },
  { name: 'passport enrol', group: 'Passport (approve sign-ins from this terminal, as a phone would)', args: '<enrolment link> [--name <name>] [--protocol webauthn|uaf] [--file <path>]',
    summary: 'Enrol with the link from "Your passkeys → Set up a phone"',
    details: ['--protocol: how this terminal approves: with a passkey (webauthn, the default) or a FIDO UAF key (uaf), which shows the sign-in\'s details before it signs them.',
      '--file: where the device key is kept (default ~/.sesame-passport.json, or SESAME_PASSPORT_FILE).'] },
  { name: 'passport list', group: 'Passport (approve sign-ins from this terminal, as a phone would)', args: '[--file <path>]', summary: 'Sign-in requests waiting for you (push)' },
  { name: 'passport approve', group: 'Passport (approve sign-ins from this terminal, as a phone would)', args: '<request link or id> [--number <n>] [--yes] [--file <path>]', summary: 'Check who asks, pick the number, approve',
    details: ['--yes: a UAF key shows the sign-in\'s details and asks before it signs; --yes confirms them without asking (needed without a terminal).'] },
  { name: 'passport deny', group: 'Passport (approve sign-ins from this terminal, as a phone would)', args: '<request link or id> [--file <path>]', summary: 'Deny a request' },
];

export function findCommand(words: string[]): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === words.slice(0, 2).join(' '));
}

export function usageLine(command: CommandHelp): string {
  return `Usage: sesame ${command.name}${command.args ? ` ${command.args}` : ''}`;
}

export function commandHelp(command: CommandHelp): string {
  return [usageLine(command), '', command.summary + '.', ...(command.details?.length ? ['', ...command.details] : [])].join('\n');
}

export function overview(version: string): string {
  const lines = [`sesame ${version}: passwordless FIDO sign-in as an OpenID Connect identity provider`, '', 'Usage: sesame <command> [options]'];
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  for (const group of [...new Set(COMMANDS.map((c) => c.group))]) {
    lines.push('', group);
    for (const c of COMMANDS.filter((x) => x.group === group)) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
  }
  lines.push(
    '',
    'sesame help <command> (or sesame <command> --help) shows a command\'s options; sesame --version its version.',
    'Settings come from the environment, as for the server (DATABASE_URL, DATA_DIR, PUBLIC_URL, SESAME_SECRET_KEY),',
    'and from ./.env or the file ENV_FILE names (variables already set win).',
  );
  return lines.join('\n');
}
