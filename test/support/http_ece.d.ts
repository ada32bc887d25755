/** Minimal types for http_ece (RFC 8188/8291 encrypted content encoding), as the push-service test uses it. */
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';
  export function decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string | Buffer }): Buffer;
  const ece: { decrypt: typeof decrypt };
  export default ece;
}
