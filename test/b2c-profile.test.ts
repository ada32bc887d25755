import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { SoftwareAuthenticator } from '../sdk/software-authenticator.js';
import { databases, startTestServer, type TestServer } from './support/server.js';
import { UserAgent } from './support/user-agent.js';
import { finishAtRp, openSignInPage, signIn, signUp } from './support/flow.js';
import type { Client } from '../src/storage/repositories/clients.js';

/**
 * Sesame as Azure AD B2C sees it (research/b2c.md §1–§3): a GET authorize with form_post, a
 * standard-base64 nonce with + / =, a long StateProperties state, ui_locales and an unknown
 * parameter; no PKCE; client_secret_post with an extra scope in the body; userinfo never called.
 */
const B2C_REDIRECT = 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/oauth2/authresp';
const NONCE = 'CpKTVRSC/gtFG0FSaQEp+g==';
const STATE = `StateProperties=${Buffer.from(JSON.stringify({ SID: 'x-ms-cpim-rc.' + 'a'.repeat(600), TID: '3f2b1c8e-0000-4000-8000-000000000000', TOID: 'b2c_1_susi' })).toString('base64')}`;

for (const db of await databases()) {
  describe(`Azure AD B2C profile (${db})`, () => {
    let server: TestServer;
    let client: Client;
    before(async () => {
      server = await startTestServer(db);
      await server.services.tenants.createTenant('contoso', 'Contoso');
      client = await server.services.tenants.createClient({ tenantId: 'contoso', b2cTenant: 'contoso', redirectUris: [] });
    });
    after(() => server.close());

    const b2cAuthorize = () => {
      const url = new URL(`${server.origin}/contoso/oidc/auth`);
      url.search = new URLSearchParams({
        client_id: client.clientId,
        redirect_uri: B2C_REDIRECT,
        response_type: 'code',
        scope: 'openid profile email',
        response_mode: 'form_post',
        nonce: NONCE,
        state: STATE,
        ui_locales: 'en-US',
        domain_hint: 'sesame',
      }).toString();
      return url.href;
    };

    const b2cRedeem = async (code: string) => {
      const response = await fetch(`${server.origin}/contoso/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: B2C_REDIRECT,
          client_id: client.clientId,
          client_secret: client.clientSecret,
          scope: 'openid profile email',
        }),
      });
      const body = await response.json();
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'Bearer');
      assert.ok(body.access_token);
      assert.ok(body.expires_in > 0);
      const { payload, protectedHeader } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(`${server.origin}/contoso/oidc/jwks`)), {
        issuer: `${server.origin}/contoso/oidc`,
        audience: client.clientId,
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.ok(protectedHeader.kid);
      return payload;
    };

    test('the client registers every B2C redirect URI form', () => {
      assert.ok(client.redirectUris.includes(B2C_REDIRECT));
      assert.ok(client.redirectUris.includes('https://login.microsoftonline.com/te/contoso.onmicrosoft.com/oauth2/authresp'));
    });

    test('sign-up then sign-in, exactly as B2C drives it', async () => {
      assert.ok(STATE.length > 800 && STATE.includes('='));
      assert.match(NONCE, /[+/=]/);
      const authenticator = new SoftwareAuthenticator();
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, b2cAuthorize());
      const response = await finishAtRp(ua, await signUp(ua, authenticator, base, 'mary@contoso.com', 'Mary Jackson'), B2C_REDIRECT);
      assert.equal(response.mode, 'form_post');
      assert.equal(response.params.state, STATE, 'state round-trips byte for byte');
      const claims = await b2cRedeem(response.params.code);
      assert.equal(claims.nonce, NONCE, 'nonce echoed byte for byte');
      assert.equal(claims.name, 'Mary Jackson');
      assert.equal(claims.email, 'mary@contoso.com');
      assert.equal(claims.email_verified, true);
      assert.equal(claims.acr, 'phr');
      assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
      assert.equal(typeof claims.auth_time, 'number');
      assert.equal(typeof claims.sub, 'string');
      const firstSub = claims.sub;

      // A later sign-in from a fresh browser, as a returning B2C user.
      const again = new UserAgent(server.origin);
      const page = await openSignInPage(again, b2cAuthorize());
      const second = await finishAtRp(again, await signIn(again, authenticator, page.base), B2C_REDIRECT);
      const claims2 = await b2cRedeem(second.params.code);
      assert.equal(claims2.sub, firstSub, 'sub is stable: B2C keys the account on iss + sub');
    });

    test('a cancelled sign-in reaches B2C as access_denied with its state', async () => {
      const ua = new UserAgent(server.origin);
      const { base } = await openSignInPage(ua, b2cAuthorize());
      const abort = await ua.postJson(`${base}/abort`, {});
      assert.equal(abort.status, 200);
      const response = await finishAtRp(ua, abort.json().redirectTo, B2C_REDIRECT);
      assert.equal(response.params.error, 'access_denied');
      assert.equal(response.params.state, STATE);
    });

    test('the JWKS holds only RSA keys (an EC key breaks B2C)', async () => {
      const jwks = await (await fetch(`${server.origin}/contoso/oidc/jwks`)).json();
      assert.ok(jwks.keys.every((k: { kty: string }) => k.kty === 'RSA'));
    });
  });
}
