import type Provider from 'oidc-provider';
import { clientSecretMatches } from '../secrets/client-secret.js';

interface ClientPrototype {
  compareClientSecret(this: { clientSecret?: string }, presented: string): boolean | Promise<boolean>;
}

/**
 * oidc-provider checks client_secret_basic and client_secret_post with `Client#compareClientSecret`
 * (lib/shared/client_auth.js → lib/models/client.js), a constant-time comparison of the presented
 * secret with `client.clientSecret`. Sesame stores only a hash and hands that over as
 * client_secret, so on this provider's Client class the comparison hashes the presented secret first.
 * It is the one place oidc-provider compares secrets, for the token, revocation and introspection
 * endpoints alike. client_secret_jwt never comes here: its HMAC key is the secret itself, which the
 * adapter hands over decrypted.
 */
export function compareHashedClientSecrets(provider: Provider): void {
  const prototype = (provider.Client as unknown as { prototype: ClientPrototype }).prototype;
  if (typeof prototype.compareClientSecret !== 'function') {
    throw new Error('This oidc-provider version has no Client#compareClientSecret; hashed client secrets cannot be checked.');
  }
  prototype.compareClientSecret = function compareClientSecret(presented) {
    return clientSecretMatches(this.clientSecret, presented);
  };
}
