import { decodeCoseKey, verifyWithAlgorithm } from './cose-key.js';
import { parseChain } from './certificates.js';
import { bytesField, concat, type StatementInput, type VerifiedStatement } from './statement.js';

/**
 * WebAuthn §8.6 FIDO U2F attestation. The AAGUID is not checked: the format predates it, and
 * CTAP2 authenticators answering a U2F-style request may report their own.
 */
export function verifyFidoU2f(input: StatementInput): VerifiedStatement {
  const chain = parseChain(input.attStmt.get('x5c'), 'fido-u2f');
  if (chain.length !== 1) throw new Error('the fido-u2f attestation statement must carry exactly one certificate');
  const certKey = chain[0].x509.publicKey;
  if (certKey.asymmetricKeyType !== 'ec' || certKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the fido-u2f attestation certificate key is not an EC P-256 key');
  }
  const key = decodeCoseKey(input.credentialPublicKey);
  const x = key.get(-2);
  const y = key.get(-3);
  if (key.get(1) !== 2 || key.get(-1) !== 1 || !(x instanceof Uint8Array) || !(y instanceof Uint8Array) || x.length !== 32 || y.length !== 32) {
    throw new Error('the fido-u2f credential key is not an EC P-256 key');
  }
  const signed = concat(Uint8Array.of(0), input.rpIdHash, input.clientDataHash, input.credentialId, Uint8Array.of(4), x, y);
  if (!verifyWithAlgorithm(-7, certKey, signed, bytesField(input.attStmt, 'sig', 'fido-u2f'))) {
    throw new Error('the fido-u2f attestation signature does not verify');
  }
  return { type: 'basic', chain };
}
