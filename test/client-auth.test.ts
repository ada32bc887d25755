import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { authorizeUrl, finishAtRp, issuer, openSignInPage, RP_REDIRECT, signUp, verifyIdToken } from './support/flow.js';
import { randomId } from '../src/ids.js';
import { hashClientSecret } from '../src/secrets/client-secret.js';
import { main } from '../src/cli/main.js';
import type { Client } from '../src/storage/repositories/clients.js';
import { sesameCli } from './support/cli.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

type Credentials = Record<string, string> | { basic: string };

/** A token request with the given client credentials (form fields, or a Basic header). */
async function tokenRequest(server: TestServer, fields: Record<string, string>, credentials: Credentials) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(fields);
  if ('basic' in credentials) headers.authorization = `Basic ${credentials.basic}`;
  else for (const [name, value] of Object.entries(credentials)) body.set(name, value);
  const response = await fetch(`${issuer(server)}/token`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.json() as Record<string, any> };
}

function assertion(client: Client, key: CryptoKey | Uint8Array, alg: string, audience: string, kid?: string) {
  return new SignJWT({})
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setIssuer(client.clientId).setSubject(client.clientId).setAudience(audience)
    .setJti(randomId()).setIssuedAt().setExpirationTime('2m')
    .sign(key);
}

const assertionFields = (jwt: string, client: Client) => ({ client_id: client.clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt });
const basic = (client: Client) => ({ basic: Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64') });

/** A bogus code: the token endpoint authenticates the client first, so 401 means "client refused", 400 invalid_grant "client accepted". */
const probe = { grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: RP_REDIRECT };

for (const db of await databases()) {
  describe(`client authentication methods (${db})`, () => {
    let server: TestServer;
    let rsa: { privateKey: CryptoKey; kid: string };
    let otherRsa: CryptoKey;
    const clients = {} as Record<'post' | 'basic' | 'jwt' | 'pkjwt', Client>;

    before(async () => {
      server = await startTestServer(db);
      const pair = await generateKeyPair('RS256', { extractable: true });
      const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'client-key-1', alg: 'RS256', use: 'sig' };
      rsa = { privateKey: pair.privateKey, kid: publicJwk.kid };
      otherRsa = (await generateKeyPair('RS256')).privateKey;
      const register = (authMethod: string, extra = {}) => server.services.tenants.createClient({ tenantId: 'demo', name: authMethod, redirectUris: [RP_REDIRECT], authMethod, ...extra });
      clients.post = await register('client_secret_post');
      clients.basic = await register('client_secret_basic');
      clients.jwt = await register('client_secret_jwt');
      clients.pkjwt = await register('private_key_jwt', { jwks: { keys: [publicJwk] } });
    });
    after(() => server.close());

    test('discovery lists exactly the methods a client can be registered for', async () => {
      const metadata = await (await fetch(`${issuer(server)}/.well-known/openid-configuration`)).json();
      assert.deepEqual([...metadata.token_endpoint_auth_methods_supported].sort(),
        ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt']);
    });

    /** Sign-up through the authorization endpoint, then the code exchange with `credentials(client)`. */
    const codeFlow = async (client: Client, credentials: () => Promise<Credentials>) => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, authorizeUrl(server, client));
      const { params } = await finishAtRp(ua, await signUp(ua, new SoftwareAuthenticator(), base, `${randomId(6)}@example.com`, 'Auth Method'));
      const tokens = await tokenRequest(server, { grant_type: 'authorization_code', code: params.code, redirect_uri: RP_REDIRECT }, await credentials());
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      const claims = await verifyIdToken(server, client, tokens.body.id_token);
      assert.equal(claims.aud, client.clientId);
    };

    test('client_secret_post: a full code flow with the secret in the body', async () => {
      await codeFlow(clients.post, async () => ({ client_id: clients.post.clientId, client_secret: clients.post.clientSecret }));
    });

    test('client_secret_basic: a full code flow with the secret in a Basic header', async () => {
      await codeFlow(clients.basic, async () => basic(clients.basic));
    });

    test('client_secret_jwt: a full code flow with an HS256 assertion signed with the secret', async () => {
      const secret = new TextEncoder().encode(clients.jwt.clientSecret);
      await codeFlow(clients.jwt, async () => assertionFields(await assertion(clients.jwt, secret, 'HS256', issuer(server)), clients.jwt));
    });

    test('private_key_jwt: a full code flow with an RS256 assertion signed with the registered key', async () => {
      await codeFlow(clients.pkjwt, async () => assertionFields(await assertion(clients.pkjwt, rsa.privateKey, 'RS256', `${issuer(server)}/token`, rsa.kid), clients.pkjwt));
    });

    test('a client registered for one method cannot authenticate with another', async () => {
      const hs256 = (client: Client, secret = client.clientSecret) => assertion(client, new TextEncoder().encode(secret), 'HS256', issuer(server));
      const refused = async (label: string, credentials: Credentials) => {
        const response = await tokenRequest(server, probe, credentials);
        assert.equal(response.status, 401, `${label}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.error, 'invalid_client', label);
      };
      const accepted = async (label: string, credentials: Credentials) => {
        const response = await tokenRequest(server, probe, credentials);
        assert.equal(response.body.error, 'invalid_grant', `${label}: ${JSON.stringify(response.body)}`);
      };

      // The same probe passes client authentication with the right method (so a 401 below is about the method).
      await accepted('post', { client_id: clients.post.clientId, client_secret: clients.post.clientSecret });
      await accepted('jwt', assertionFields(await hs256(clients.jwt), clients.jwt));

      await refused('secret client with an HS256 assertion', assertionFields(await hs256(clients.post), clients.post));
      await refused('secret client with an RS256 assertion', assertionFields(await assertion(clients.post, rsa.privateKey, 'RS256', issuer(server), rsa.kid), clients.post));
      await refused('client_secret_jwt client with its secret in the body', { client_id: clients.jwt.clientId, client_secret: clients.jwt.clientSecret });
      await refused('client_secret_jwt client with its secret in a Basic header', basic(clients.jwt));
      await refused('client_secret_jwt client with an RS256 assertion', assertionFields(await assertion(clients.jwt, rsa.privateKey, 'RS256', issuer(server), rsa.kid), clients.jwt));
      await refused('private_key_jwt client with an HS256 assertion', assertionFields(await hs256(clients.pkjwt, 'x'.repeat(43)), clients.pkjwt));
      await refused('private_key_jwt client with a client secret', { client_id: clients.pkjwt.clientId, client_secret: 'x'.repeat(43) });
      await refused('private_key_jwt client with an assertion from another key', assertionFields(await assertion(clients.pkjwt, otherRsa, 'RS256', issuer(server), rsa.kid), clients.pkjwt));
      // One character changed (a secret ending in "A" would otherwise stay the same: a 1-in-64 flake).
      const wrongLast = clients.post.clientSecret.endsWith('A') ? 'B' : 'A';
      await refused('a wrong secret', { client_id: clients.post.clientId, client_secret: `${clients.post.clientSecret.slice(0, -1)}${wrongLast}` });
      // The stored hash is not a password: whoever reads the database cannot authenticate with it.
      await refused('the stored hash as the secret', { client_id: clients.post.clientId, client_secret: hashClientSecret(clients.post.clientSecret) });
      const replayed = assertionFields(await hs256(clients.jwt), clients.jwt);
      await accepted('a fresh assertion', replayed);
      await refused('the same assertion again', replayed);
    });
  });
}

describe('sesame client create --auth-method', () => {
  const { sesame, dataDir: dataFolder } = sesameCli('sesame-cli-auth', { PUBLIC_URL: 'http://localhost:8080', SESAME_SECRET_KEY: '' });
  before(async () => {
    assert.equal(await main(['tenant', 'create', 'fabrikam', '--name', 'Fabrikam'], () => undefined, () => undefined), 0);
  });

  test('private_key_jwt with a JWKS file: no secret is printed, the keys are registered', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const file = path.join(dataFolder(), 'client.jwks.json');
    fs.writeFileSync(file, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    const { code, out, err } = await sesame('client', 'create', '--tenant', 'fabrikam', '--entra', 'fabrikam', '--auth-method', 'private_key_jwt', '--jwks', file);
    assert.equal(code, 0, err);
    assert.doesNotMatch(out, /Client secret/);
    assert.match(out, /Client authentication:\s+private_key_jwt/);
    assert.match(out, /Authentication: private_key_jwt .*registered: 1/);
    assert.ok(out.includes('https://fabrikam.ciamlogin.com/fabrikam.onmicrosoft.com/federation/oauth2'), out);

    fs.writeFileSync(file, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    const leaked = await sesame('client', 'create', '--tenant', 'fabrikam', '--redirect-uri', 'https://rp.example.com/cb', '--auth-method', 'private_key_jwt', '--jwks', file);
    assert.equal(leaked.code, 1);
    assert.match(leaked.err, /private key material \(d, p, q, dp, dq, qi\)/);
  });

  test('client_secret_jwt prints the secret once and says how it is used; --entra keeps its form values', async () => {
    const { code, out, err } = await sesame('client', 'create', '--tenant', 'fabrikam', '--entra', 'fabrikam', '--auth-method', 'client_secret_jwt');
    assert.equal(code, 0, err);
    const secret = /Client secret:\s+(\S+)/.exec(out)?.[1];
    assert.ok(secret && secret.length >= 43, out);
    assert.match(out, /Client authentication:\s+client_secret_jwt/);
    assert.match(out, /Authentication: client_secret_jwt \(a client assertion JWT signed with the secret, HS256\)/);
    const list = await sesame('client', 'list', '--tenant', 'fabrikam');
    assert.match(list.out, /^CLIENT ID +NAME +AUTHENTICATION/m);
    assert.match(list.out, / client_secret_jwt /);
    assert.ok(!list.out.includes(secret));
  });

  test('clear errors for methods and keys that do not fit', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--redirect-uri', 'https://rp.example.com/cb', '--auth-method', 'none'], /"none" is not a client authentication method Sesame offers/],
      [['--redirect-uri', 'https://rp.example.com/cb', '--auth-method', 'private_key_jwt'], /needs its public keys: give either --jwks <file> or --jwks-uri <url>/],
      [['--redirect-uri', 'https://rp.example.com/cb', '--jwks-uri', 'https://rp.example.com/jwks'], /--jwks and --jwks-uri are for private_key_jwt clients, not for client_secret_post/],
      [['--redirect-uri', 'https://rp.example.com/cb', '--auth-method', 'private_key_jwt', '--jwks-uri', 'http://rp.example.com/jwks'], /must use https/],
      [['--redirect-uri', 'https://rp.example.com/cb', '--auth-method', 'private_key_jwt', '--jwks', '/nonexistent/jwks.json'], /Cannot read the JWKS file/],
      [['--b2c', 'fabrikam', '--auth-method', 'client_secret_jwt'], /Azure AD B2C cannot authenticate with client_secret_jwt/],
      [['--entra', 'fabrikam', '--auth-method', 'client_secret_basic'], /Entra External ID does not support client_secret_basic/],
    ];
    for (const [args, message] of cases) {
      const result = await sesame('client', 'create', '--tenant', 'fabrikam', ...args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.err, message, args.join(' '));
    }
  });
});
