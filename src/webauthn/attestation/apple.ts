import { createHash } from 'node:crypto';
import { certifiesCredentialKey, extensionValue, parseChain } from './certificates.js';
import { concat, type StatementInput, type VerifiedStatement } from './statement.js';

/** Apple's anonymous attestation nonce extension. */
const APPLE_NONCE_OID = '1.2.840.113635.100.8.2';

/** WebAuthn §8.8 Apple Anonymous attestation: the certificate names a nonce over the ceremony and holds the credential key. */
export function verifyApple(input: StatementInput): VerifiedStatement {
  const chain = parseChain(input.attStmt.get('x5c'), 'apple');
  const nonce = createHash('sha256').update(concat(input.authData, input.clientDataHash)).digest();
  // SEQUENCE { [1] EXPLICIT OCTET STRING nonce }, in DER: 30 24 a1 22 04 20 <32 bytes>.
  const expected = concat(Uint8Array.from([0x30, 0x24, 0xa1, 0x22, 0x04, 0x20]), nonce);
  const found = extensionValue(chain[0], APPLE_NONCE_OID);
  if (!found) throw new Error('the apple attestation certificate has no nonce extension');
  if (!Buffer.from(found).equals(expected)) throw new Error('the apple attestation nonce does not match this registration');
  if (!certifiesCredentialKey(chain[0], input.credentialPublicKey)) throw new Error('the apple attestation certificate does not hold the credential public key');
  return { type: 'anonca', chain };
}
