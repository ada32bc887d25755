/** The one relying party of the bare oidc-provider (bench/bare-oidc.ts); the load generator signs in as it. */
export const BARE_CLIENT = {
  clientId: 'bench-rp',
  clientSecret: 'bench-rp-secret-0123456789abcdef0123456789',
  redirectUri: 'https://rp.example.com/callback',
};
