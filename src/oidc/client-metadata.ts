import type { ClientMetadata } from 'oidc-provider';
import type { ClientAuth, ClientRecord } from '../storage/repositories/clients.js';

/** How a Sesame client looks to oidc-provider. */
export function clientMetadata(client: ClientRecord): ClientMetadata {
  return {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // oidc-provider accepts client_secret_basic and client_secret_post interchangeably for either.
    token_endpoint_auth_method: client.auth.method,
    ...credentials(client.auth),
    id_token_signed_response_alg: 'RS256',
    sesame_require_pkce: client.requirePkce,
    sesame_allowed_groups: client.allowedGroups ?? [],
    ...(client.backchannelLogoutUri ? { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
  };
}

function credentials(auth: ClientAuth): Pick<ClientMetadata, 'client_secret' | 'jwks' | 'jwks_uri'> {
  switch (auth.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      // The hash: provider-factory.ts teaches oidc-provider to hash the presented secret before comparing.
      return { client_secret: auth.secretHash };
    case 'client_secret_jwt':
      return { client_secret: auth.secret };
    case 'private_key_jwt':
      return auth.jwksUri ? { jwks_uri: auth.jwksUri } : { jwks: auth.jwks as ClientMetadata['jwks'] };
  }
}
