import { checkAaguidExtension, isCertificateAuthority, isVersion3, parseChain } from './certificates.js';
import { coseAlgorithm, verifyCoseSignature, verifyWithAlgorithm } from './cose-key.js';
import { algField, bytesField, concat, type StatementInput, type VerifiedStatement } from './statement.js';

/** WebAuthn §8.2 packed attestation: self (signed by the credential key) or x5c (an attestation certificate). */
export function verifyPacked(input: StatementInput): VerifiedStatement {
  const { attStmt } = input;
  const alg = algField(attStmt, 'packed');
  const sig = bytesField(attStmt, 'sig', 'packed');
  const signed = concat(input.authData, input.clientDataHash);
  if (attStmt.has('ecdaaKeyId')) throw new Error('ECDAA attestation was removed from WebAuthn and is not supported');
  if (!attStmt.has('x5c')) {
    if (alg !== coseAlgorithm(input.credentialPublicKey)) throw new Error('the packed self attestation uses another algorithm than the credential key');
    if (!verifyCoseSignature(input.credentialPublicKey, signed, sig)) throw new Error('the packed self attestation signature does not verify');
    return { type: 'self', chain: [] };
  }
  const chain = parseChain(attStmt.get('x5c'), 'packed');
  const leaf = chain[0];
  if (!verifyWithAlgorithm(alg, leaf.x509.publicKey, signed, sig)) throw new Error('the packed attestation signature does not verify with its attestation certificate');
  checkLeaf(leaf);
  checkAaguidExtension(leaf, input.aaguid, 'packed');
  return { type: 'basic', chain };
}

/** §8.2.1 Packed Attestation Statement Certificate Requirements. */
function checkLeaf(leaf: ReturnType<typeof parseChain>[number]): void {
  if (!isVersion3(leaf)) throw new Error('the packed attestation certificate is not an X.509 version 3 certificate');
  const subject = new Map(leaf.x509.subject.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  if (!/^[A-Za-z]{2}$/.test(subject.get('C') ?? '')) throw new Error('the packed attestation certificate subject has no two-letter country (C)');
  if (!subject.get('O')) throw new Error('the packed attestation certificate subject has no organisation (O)');
  if (subject.get('OU') !== 'Authenticator Attestation') throw new Error('the packed attestation certificate subject OU is not "Authenticator Attestation"');
  if (!subject.get('CN')) throw new Error('the packed attestation certificate subject has no common name (CN)');
  if (isCertificateAuthority(leaf)) throw new Error('the packed attestation certificate is a CA certificate');
}
