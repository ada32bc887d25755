import { AsnParser } from '@peculiar/asn1-schema';
import { id_ce_keyDescription, KeyDescription } from '@peculiar/asn1-android';
import { certifiesCredentialKey, extensionValue, parseChain } from './certificates.js';
import { verifyWithAlgorithm } from './cose-key.js';
import { algField, bytesField, concat, type StatementInput, type VerifiedStatement } from './statement.js';

const KM_ORIGIN_GENERATED = 0;
const KM_PURPOSE_SIGN = 2;

/** WebAuthn §8.4 Android Key attestation. */
export function verifyAndroidKey(input: StatementInput): VerifiedStatement {
  const { attStmt } = input;
  const chain = parseChain(attStmt.get('x5c'), 'android-key');
  const leaf = chain[0];
  const signed = concat(input.authData, input.clientDataHash);
  if (!verifyWithAlgorithm(algField(attStmt, 'android-key'), leaf.x509.publicKey, signed, bytesField(attStmt, 'sig', 'android-key'))) {
    throw new Error('the android-key attestation signature does not verify with its attestation certificate');
  }
  if (!certifiesCredentialKey(leaf, input.credentialPublicKey)) throw new Error('the android-key attestation certificate does not hold the credential public key');
  const extension = extensionValue(leaf, id_ce_keyDescription);
  if (!extension) throw new Error('the android-key attestation certificate has no key description extension');
  let description: KeyDescription;
  try {
    description = AsnParser.parse(extension, KeyDescription);
  } catch {
    throw new Error('the android-key attestation key description cannot be read');
  }
  if (!Buffer.from(description.attestationChallenge.buffer).equals(Buffer.from(input.clientDataHash))) {
    throw new Error('the android-key attestation challenge does not match this registration');
  }
  const lists = [description.softwareEnforced, description.teeEnforced];
  // A credential must be scoped to its RP ID, never usable by every application on the device.
  if (lists.some((list) => list.allApplications !== undefined)) throw new Error('the android-key attestation key is usable by all applications');
  // §8.4 asks for origin KM_ORIGIN_GENERATED and purpose KM_PURPOSE_SIGN. The spec's own test
  // vectors leave both lists empty and are valid, so a missing field passes and a contrary one fails.
  if (lists.some((list) => list.origin !== undefined && Number(list.origin) !== KM_ORIGIN_GENERATED)) {
    throw new Error('the android-key attestation key was not generated in the keystore');
  }
  if (lists.some((list) => list.purpose !== undefined && !list.purpose.some((p) => Number(p) === KM_PURPOSE_SIGN))) {
    throw new Error('the android-key attestation key is not for signing');
  }
  return { type: 'basic', chain };
}
