/**
 * The architecture floor: a bare oidc-provider (the version Sesame uses, configured as Sesame
 * configures it — code flow, form_post, RS256 ID tokens carrying the claims) and an interaction that
 * signs the user in at once. Two entries run it: bench/bare-oidc.ts with the provider's in-memory
 * adapter, bench/bare-oidc-sqlite.ts with Sesame's durable storage.
 * Run as a child of the load generator (bench/child.ts) with PORT set; answers /readyz.
 */
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { serveStats } from './stats.js';
import { BARE_CLIENT } from './bare-client.js';

export interface BareStorage {
  adapter: NonNullable<Configuration['adapter']>;
  /** Runs around each of the provider's requests (Sesame: the request's write batch). */
  aroundRequest: (next: () => Promise<void>) => Promise<unknown>;
  /** Resolves when the answer may go (Sesame: the group commit's sync). */
  beforeAnswer: () => Promise<void>;
  close: () => Promise<void>;
}

export function startBareProvider(storage?: BareStorage): void {
  const port = Number(process.env.PORT);
  const issuer = `http://localhost:${port}`;
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  const configuration: Configuration = {
    clients: [{
      client_id: BARE_CLIENT.clientId,
      client_secret: BARE_CLIENT.clientSecret,
      redirect_uris: [BARE_CLIENT.redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [{ ...signingKey, kid: 'bench', alg: 'RS256', use: 'sig' }] as never },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: `Bench ${sub}`, email: `${sub}@example.com`, email_verified: true, amr: ['hwk', 'user'], acr: 'phr' }),
    }),
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    responseTypes: ['code'],
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    cookies: { keys: ['bench-cookie-key-0123456789abcdef'], long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    // As Sesame: the client is the administrator's, the signed-in user is not asked to consent.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (!oidc.client || !oidc.session?.accountId) return undefined;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope(String(oidc.params?.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
  };

  if (storage) configuration.adapter = storage.adapter;
  const provider = new Provider(issuer, configuration);
  if (storage) provider.use((_ctx, next) => storage.aroundRequest(next));
  const callback = provider.callback();
  let signIns = 0;

  const server = http.createServer((req, res) => {
    if (req.url === '/readyz') {
      res.end('ok');
    } else if (req.url?.startsWith('/interaction/')) {
      signIns += 1;
      // interactionFinished's own answer, but sent after the storage's sync, as Sesame's answers are.
      provider.interactionResult(req, res, { login: { accountId: `user${signIns % 1000}` } }, { mergeWithLastSubmission: false })
        .then(async (location) => {
          await storage?.beforeAnswer();
          res.writeHead(303, { location, 'content-length': 0 }).end();
        })
        .catch((error: Error) => { res.statusCode = 500; res.end(error.message); });
    } else {
      callback(req, res);
    }
  });
  server.listen(port);
  serveStats(undefined, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await storage?.close();
  });
}
