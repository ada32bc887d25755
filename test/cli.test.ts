import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/storage/db.js';
import { SecretBox } from '../src/secrets/secret-box.js';
import { loadSecretKey } from '../src/secrets/secret-key.js';
import { UserRepository } from '../src/storage/repositories/users.js';
import { sesameCli } from './support/cli.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The `sesame` command, run in-process against a fresh SQLite data folder. */
describe('sesame CLI', () => {
    // An https PUBLIC_URL (production) requires SESAME_SECRET_KEY.
  const { sesame, dataDir: dataFolder } = sesameCli('sesame-cli', { PUBLIC_URL: 'https://id.example.com', SESAME_SECRET_KEY: randomBytes(32).toString('base64') });

  test('tenant create and list', async () => {
    const created = await sesame('tenant', 'create', 'contoso', '--name', 'Contoso');
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /Metadata URL: https:\/\/id\.example\.com\/contoso\/oidc\/\.well-known\/openid-configuration/);
    const list = await sesame('tenant', 'list');
    assert.deepEqual(list.out.split('\n'), [
      'ID       DISPLAY NAME  ISSUER',
      'contoso  Contoso       https://id.example.com/contoso/oidc',
    ]);
  });

  test('--version prints package.json\'s version', async () => {
    const { version } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) assert.equal((await sesame(flag)).out, `sesame ${version}`);
  });

  test('help: grouped overview, and one command\'s help by "help <command>" or "<command> --help"', async () => {
    const overview = (await sesame('help')).out;
    const groups = ['Tenants', 'Clients (relying parties)', 'Users', 'Keys', 'Passport (approve sign-ins from this terminal, as a phone would)'];
    const positions = groups.map((g) => overview.split('\n').indexOf(g));
    assert.ok(positions.every((p, i) => p > 0 && (i === 0 || p > positions[i - 1]!)), overview);
    const users = overview.split('\n').slice(positions[2]! + 1, positions[3]! - 1).map((l) => l.trim().split(/\s{2,}/)[0]);
    assert.deepEqual(users, ['user list', 'user link', 'user disable', 'user enable', 'user delete']);
    assert.equal((await sesame()).out, overview);
    assert.equal((await sesame('--help')).out, overview);

    const help = await sesame('help', 'user', 'delete');
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: sesame user delete --tenant <id> --email <address> \[--yes\]$/m);
    assert.doesNotMatch(help.out, /tenant create|keys rotate/, 'that command only');
    assert.equal((await sesame('user', 'delete', '--help')).out, help.out);
    assert.match((await sesame('tenant', 'set', '-h')).out, /--colour #rrggbb\|none[\s\S]*4\.5:1/);
    const unknown = await sesame('help', 'frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /There is no command "frobnicate"/);
  });

  test('client create --b2c prints what to type into B2C, with the redirect URIs it registered', async () => {
    const { code, out, err } = await sesame('client', 'create', '--tenant', 'contoso', '--b2c', 'contoso');
    assert.equal(code, 0, err);
    const clientId = /Client ID:\s+(\S+)/.exec(out)?.[1];
    const secret = /Client secret:\s+(\S+)/.exec(out)?.[1];
    assert.ok(clientId && secret);
    assert.ok(secret.length >= 43, 'a 256-bit secret');
    for (const expected of [
      'Metadata url:   https://id.example.com/contoso/oidc/.well-known/openid-configuration',
      'Scope:          openid profile email',
      'Response type:  code',
      'Response mode:  form_post',
      'User ID:       sub',
      'Display name:  name',
      'Email:         email',
      'https://contoso.b2clogin.com/contoso.onmicrosoft.com/oauth2/authresp',
      'https://login.microsoftonline.com/te/contoso.onmicrosoft.com/oauth2/authresp',
    ]) assert.ok(out.includes(expected), `missing: ${expected}\n${out}`);
    const list = await sesame('client', 'list', '--tenant', 'contoso');
    assert.ok(list.out.includes(clientId));
    assert.ok(!list.out.includes(secret), 'client list never shows secrets');
  });

  test('client create --entra registers External ID redirect URIs and says what to enter', async () => {
    const { code, out, err } = await sesame('client', 'create', '--tenant', 'contoso', '--entra', 'contoso', '--entra-tenant-id', '3F2B1C8E-0000-4000-8000-000000000000');
    assert.equal(code, 0, err);
    for (const expected of [
      'https://contoso.ciamlogin.com/contoso.onmicrosoft.com/federation/oauth2',
      'https://contoso.ciamlogin.com/3f2b1c8e-0000-4000-8000-000000000000/federation/oauth2',
      'Issuer URI:                 https://id.example.com/contoso/oidc',
      'Well-known endpoint:        https://id.example.com/contoso/oidc/.well-known/openid-configuration',
      '--email-verification required',
    ]) assert.ok(out.includes(expected), `missing: ${expected}\n${out}`);
    const bad = await sesame('client', 'create', '--tenant', 'contoso', '--entra', 'contoso', '--entra-tenant-id', 'nope');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /is not a tenant id/);
  });

  test('user list and keys rotate', async () => {
    assert.match((await sesame('user', 'list', '--tenant', 'contoso')).out, /has no users yet/);
    const rotated = await sesame('keys', 'rotate', '--tenant', 'contoso');
    assert.equal(rotated.code, 0, rotated.err);
    assert.match(rotated.out, /starts signing ID tokens at \d{4}-/);
  });

  test('user link prints a one-time sign-in link valid 15 minutes; tenant set turns e-mail recovery off and on', async () => {
    const config = loadConfig();
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secrets: new SecretBox(loadSecretKey(config).key) });
    try {
      await new UserRepository(database.db).insert({ tenantId: 'contoso', id: 'u-lin', email: 'lin@example.com', emailVerified: false, displayName: 'Lin Yu', createdAt: Date.now() });
    } finally {
      await database.close();
    }
    const before = Date.now();
    const { code, out, err } = await sesame('user', 'link', '--tenant', 'contoso', '--email', 'Lin@Example.com');
    assert.equal(code, 0, err);
    assert.match(out, /^One-time sign-in link for Lin Yu <lin@example\.com> \(tenant "contoso"\):$/m);
    assert.match(out, /^ {2}https:\/\/id\.example\.com\/contoso\/recovery\/link#token=[A-Za-z0-9_-]{43}$/m);
    const until = Date.parse(/until (\S+) \(15 minutes\)/.exec(out)?.[1] ?? '');
    assert.ok(until >= before + 15 * 60_000 && until <= Date.now() + 15 * 60_000, out);
    const second = await sesame('user', 'link', '--tenant', 'contoso', '--email', 'lin@example.com');
    assert.notEqual(/#token=(\S+)/.exec(second.out)?.[1], /#token=(\S+)/.exec(out)?.[1], 'a new link each time');

    const unknown = await sesame('user', 'link', '--tenant', 'contoso', '--email', 'nobody@example.com');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /has no user with the e-mail address nobody@example\.com/);
    assert.equal((await sesame('user', 'link', '--tenant', 'contoso')).code, 2);

    const off = await sesame('tenant', 'set', 'contoso', '--email-recovery', 'off');
    assert.equal(off.code, 0, off.err);
    assert.match(off.out, /sends no recovery codes by e-mail/);
    assert.match((await sesame('tenant', 'set', 'contoso', '--email-recovery', 'on')).out, /can get a code by e-mail/);
    const bad = await sesame('tenant', 'set', 'contoso', '--email-recovery', 'maybe');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /takes on or off/);
    assert.match((await sesame('tenant', 'set', 'contoso')).err, /Say what to set/);
    assert.match((await sesame('tenant', 'set', 'nosuch', '--email-recovery', 'off')).err, /no tenant called "nosuch"/);
  });

  test('clear errors for wrong arguments', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['client', 'create', '--b2c', 'contoso'], 2, /needs --tenant/],
      [['client', 'create', '--tenant', 'nosuch', '--b2c', 'x'], 1, /no tenant called "nosuch"/],
      [['client', 'create', '--tenant', 'contoso'], 1, /at least one redirect URI/],
      [['client', 'create', '--tenant', 'contoso', '--redirect-uri', 'http://example.com/cb'], 1, /must use https/],
      [['tenant', 'create', 'Bad_Id', '--name', 'x'], 1, /cannot be a tenant id/],
      [['tenant', 'create', 'contoso', '--name', 'again'], 1, /already exists/],
      [['tenant', 'create', 'x'], 2, /--name/],
      [['tenant', 'frobnicate'], 2, /Unknown command "tenant frobnicate"/],
      [['tenant', 'list', '--bogus'], 2, /Unknown option '--bogus'\./],
      // An option given last without its value: said so, not taken for a value that starts with a dash.
      [['tenant', 'create', 'x', '--name'], 2, /^sesame: Option '--name <value>' argument missing\.\n/],
    ];
    for (const [args, code, message] of cases) {
      const result = await sesame(...args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.err}`);
      assert.match(result.err, message);
      assert.doesNotMatch(result.err, /\n\s+at /, 'no stack trace');
    }
    // A wrong argument shows that command's usage line, not the whole list.
    const wrong = await sesame('tenant', 'list', '--bogus');
    assert.deepEqual(wrong.err.split('\n'), ["sesame: Unknown option '--bogus'.", 'Usage: sesame tenant list', 'More: sesame help tenant list']);
    const missing = await sesame('user', 'disable', '--tenant', 'contoso');
    assert.equal(missing.code, 2);
    assert.deepEqual(missing.err.split('\n').slice(1), ['Usage: sesame user disable --tenant <id> --email <address>', 'More: sesame help user disable']);
  });

  test('client create names the client after --name or the tenant, never after the B2C tenant', async () => {
    const named = await sesame('client', 'create', '--tenant', 'contoso', '--b2c', 'contosob2c', '--name', 'Contoso Shop');
    assert.match(named.out, /^Client "Contoso Shop" created/m);
    const unnamed = await sesame('client', 'create', '--tenant', 'contoso', '--b2c', 'contosob2c');
    assert.match(unnamed.out, /^Client "Contoso" created/m);
    const list = (await sesame('client', 'list', '--tenant', 'contoso')).out.split('\n');
    assert.match(list[0]!, /^CLIENT ID +NAME +AUTHENTICATION +PKCE +REDIRECT URIS$/);
    assert.ok(!list.join('\n').includes('Azure AD B2C ('), list.join('\n'));
    // The columns line up under their headers.
    const at = list[0]!.indexOf('AUTHENTICATION');
    for (const row of list.slice(1)) assert.match(row.slice(at), /^client_secret_post /, row);
  });

  test('user disable, enable and delete (delete asks for --yes)', async () => {
    const config = loadConfig();
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secrets: new SecretBox(loadSecretKey(config).key) });
    try {
      await new UserRepository(database.db).insert({ tenantId: 'contoso', id: 'u-ada', email: 'ada@example.com', emailVerified: true, displayName: 'Ada', createdAt: Date.now() });
    } finally {
      await database.close();
    }
    const disabled = await sesame('user', 'disable', '--tenant', 'contoso', '--email', 'Ada@example.com');
    assert.equal(disabled.code, 0, disabled.err);
    assert.match(disabled.out, /Ada <ada@example\.com> is disabled in tenant "contoso"/);
    assert.match((await sesame('user', 'list', '--tenant', 'contoso')).out, /^u-ada +ada@example\.com +Ada +0 +disabled /m);
    assert.match((await sesame('user', 'disable', '--tenant', 'contoso', '--email', 'ada@example.com')).err, /already disabled/);
    assert.match((await sesame('user', 'link', '--tenant', 'contoso', '--email', 'ada@example.com')).err, /is disabled: enable the account first/);
    const enabled = await sesame('user', 'enable', '--tenant', 'contoso', '--email', 'ada@example.com');
    assert.match(enabled.out, /can sign in to tenant "contoso" again/);
    assert.match((await sesame('user', 'list', '--tenant', 'contoso')).out, /^u-ada +ada@example\.com +Ada +0 +active /m);

    const dryRun = await sesame('user', 'delete', '--tenant', 'contoso', '--email', 'ada@example.com');
    assert.equal(dryRun.code, 0, dryRun.err);
    assert.match(dryRun.out, /would delete Ada <ada@example\.com> from tenant "contoso", with 0 passkeys, 0 phones/);
    assert.match(dryRun.out, /Nothing was deleted/);
    assert.match((await sesame('user', 'list', '--tenant', 'contoso')).out, /u-ada/);
    const deleted = await sesame('user', 'delete', '--tenant', 'contoso', '--email', 'ada@example.com', '--yes');
    assert.match(deleted.out, /^Deleted Ada <ada@example\.com>/);
    assert.doesNotMatch((await sesame('user', 'list', '--tenant', 'contoso')).out, /u-ada/);
    assert.match((await sesame('user', 'delete', '--tenant', 'contoso', '--email', 'ada@example.com', '--yes')).err, /has no user with the e-mail address/);
  });

  test('tenant set: display name, colour and logo, with clear refusals', async () => {
    const set = await sesame('tenant', 'set', 'contoso', '--display-name', 'Contoso Ltd', '--colour', '#FFCC00');
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /is now shown as "Contoso Ltd"/);
    assert.match(set.out, /uses #ffcc00, with black text on it \(contrast 1\d\.\d:1\)/);
    const cases: Array<[string[], RegExp]> = [
      [['--colour', 'red'], /"red" is not a colour: give it as #rrggbb/],
      [['--colour', '#fff'], /is not a colour/],
      [['--logo', 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4='], /SVG logos are not accepted/],
      [['--logo', `data:image/png;base64,${Buffer.from('<svg onload="x()"></svg>').toString('base64')}`], /SVG logos are not accepted/],
      [['--logo', `data:image/png;base64,${Buffer.from('GIF89a....').toString('base64')}`], /must be a PNG, JPEG or WebP/],
      [['--logo', `data:image/png;base64,${Buffer.concat([PNG_SIGNATURE, Buffer.alloc(65 * 1024)]).toString('base64')}`], /at most 64 KB/],
      [['--logo', '/no/such/logo.png'], /Cannot read the logo file/],
    ];
    for (const [flags, message] of cases) {
      const result = await sesame('tenant', 'set', 'contoso', ...flags);
      assert.notEqual(result.code, 0, flags.join(' '));
      assert.match(result.err, message);
    }
    const logoFile = path.join(dataFolder(), 'logo.png');
    fs.writeFileSync(logoFile, Buffer.concat([PNG_SIGNATURE, Buffer.alloc(100)]));
    assert.match((await sesame('tenant', 'set', 'contoso', '--logo', logoFile)).out, /shows its logo \(image\/png, 108 bytes\) at \/contoso\/branding\/logo/);
    assert.match((await sesame('tenant', 'set', 'contoso', '--logo', 'none', '--colour', 'none')).out, /shows no logo[\s\S]*uses Sesame's colours/);
  });

  test('.env and ENV_FILE: read by the CLI entry point, never overriding the environment', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-env-'));
    try {
      const key = randomBytes(32).toString('base64');
      fs.writeFileSync(path.join(dir, '.env'), `PUBLIC_URL=https://login.contoso.example\nDATA_DIR=${dir}\nSESAME_SECRET_KEY=${key}\n`);
      fs.writeFileSync(path.join(dir, 'other.env'), `PUBLIC_URL=https://other.example\nDATA_DIR=${dir}\nSESAME_SECRET_KEY=${key}\n`);
      const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
      const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url));
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['PUBLIC_URL', 'DATA_DIR', 'SESAME_SECRET_KEY', 'DATABASE_URL', 'ENV_FILE'].includes(k))) as Record<string, string>;
      const run = (extra: Record<string, string>, ...args: string[]) => {
        const result = spawnSync(process.execPath, ['--import', pathToFileURL(tsx).href, cli, ...args], { cwd: dir, env: { ...env, ...extra }, encoding: 'utf8' });
        return { code: result.status, out: result.stdout, err: result.stderr };
      };
      const created = run({}, 'tenant', 'create', 'acme', '--name', 'Acme');
      assert.equal(created.code, 0, created.err);
      assert.match(created.out, /Issuer: +https:\/\/login\.contoso\.example\/acme\/oidc$/m, 'from ./.env');
      assert.match(run({ PUBLIC_URL: 'https://set.example' }, 'tenant', 'list').out, /https:\/\/set\.example\/acme\/oidc/, 'the environment wins');
      assert.match(run({ ENV_FILE: 'other.env' }, 'tenant', 'list').out, /https:\/\/other\.example\/acme\/oidc/, 'ENV_FILE instead of ./.env');
      const missing = run({ ENV_FILE: 'nope.env' }, 'tenant', 'list');
      assert.equal(missing.code, 1);
      assert.match(missing.err, /Cannot read the settings file .*nope\.env \(ENV_FILE\): ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
