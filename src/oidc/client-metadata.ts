import type { ClientMetadata } from 'oidc-provider';
import type { Client } from '../storage/repositories/clients.js';

/** How a Sesame client looks to oidc-provider. */
export function clientMetadata(client: Client): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // client_secret_basic and client_secret_post are accepted interchangeably by oidc-provider.
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
    sesame_require_pkce: client.requirePkce,
  };
}
