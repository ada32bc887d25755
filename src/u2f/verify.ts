import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';
import { badRequest } from '../errors.js';
import { checkClientData, REGISTER_TYPE, SIGN_TYPE } from './client-data.js';
import { userPublicKey } from './public-key.js';
import { parseRegistrationData, parseSignatureData } from './raw-messages.js';

/**
 * Server-side verification of FIDO U2F registration and authentication responses (Raw Message
 * Formats v1.2 §4.3, §5.4; the JS API's websafe-base64 fields), with the AppID and its trusted facets.
 */

export interface U2fExpectation {
  appId: string;
  facets: string[];
  challenge: string;
}

export interface RegisterResponse {
  registrationData: string;
  clientData: string;
}

export interface SignResponse {
  keyHandle: string;
  clientData: string;
  signatureData: string;
}

export interface VerifiedU2fRegistration {
  keyHandle: Buffer;
  /** 04‖X‖Y */
  publicKey: Buffer;
  attestationCertificate: Buffer;
}

export interface RegisteredKey {
  keyHandle: string;
  publicKey: Uint8Array;
  counter: number;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();
const USER_PRESENT = 0x01;

/**
 * The attestation certificate must parse, hold a P-256 key that signed the registration, and be
 * valid at `at` (the caller's clock). Which vendors to trust is not decided here.
 */
export function verifyU2fRegistration(response: RegisterResponse, expected: U2fExpectation & { at: Date }): VerifiedU2fRegistration {
  const clientData = websafe(response.clientData, 'clientData');
  checkClientData(clientData, REGISTER_TYPE, expected);
  const data = parseRegistrationData(websafe(response.registrationData, 'registrationData'));
  userPublicKey(data.userPublicKey);
  const certificate = data.certificate;
  if (certificate.publicKey.asymmetricKeyType !== 'ec' || certificate.publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw badRequest('The U2F attestation certificate does not hold a P-256 key.', 'u2f_attestation');
  }
  const at = expected.at.getTime();
  if (at < Date.parse(certificate.validFrom)) throw badRequest(`The U2F attestation certificate is not yet valid (from ${certificate.validFrom}).`, 'u2f_attestation');
  if (at > Date.parse(certificate.validTo)) throw badRequest(`The U2F attestation certificate expired on ${certificate.validTo}.`, 'u2f_attestation');
  const signed = Buffer.concat([Buffer.of(0x00), sha256(expected.appId), sha256(clientData), data.keyHandle, data.userPublicKey]);
  if (!ecdsaValid(certificate.publicKey, signed, data.signature)) {
    throw badRequest('The U2F attestation signature does not match (another AppID, client data or key).', 'u2f_bad_signature');
  }
  return { keyHandle: Buffer.from(data.keyHandle), publicKey: Buffer.from(data.userPublicKey), attestationCertificate: Buffer.from(data.certificateDer) };
}

/**
 * An authentication response for a registered key: the user was present, the signature is the
 * key's over this AppID and client data, and the counter moved forward (a counter that did not is
 * the mark of a cloned key or a replay). Returns the new counter to store.
 */
export function verifyU2fSignature(response: SignResponse, registered: RegisteredKey, expected: U2fExpectation): { counter: number } {
  if (response.keyHandle !== registered.keyHandle) throw badRequest('The U2F response is for another key handle.', 'u2f_unknown_key');
  const clientData = websafe(response.clientData, 'clientData');
  checkClientData(clientData, SIGN_TYPE, expected);
  const data = parseSignatureData(websafe(response.signatureData, 'signatureData'));
  if ((data.userPresence & USER_PRESENT) === 0) throw badRequest('The U2F key did not confirm that the user was present.', 'u2f_user_presence');
  const signed = Buffer.concat([sha256(expected.appId), data.presenceAndCounter, sha256(clientData)]);
  if (!ecdsaValid(userPublicKey(registered.publicKey), signed, data.signature)) {
    throw badRequest('The U2F signature does not match this key, AppID and client data.', 'u2f_bad_signature');
  }
  if (data.counter <= registered.counter) {
    throw badRequest(`The U2F counter did not increase (${data.counter} after ${registered.counter}): the key may be cloned.`, 'u2f_counter');
  }
  return { counter: data.counter };
}

function ecdsaValid(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verifySignature('sha256', data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

function websafe(value: string, field: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_\-+/]*={0,2}$/.test(value)) throw badRequest(`The U2F ${field} is not websafe base64.`, 'u2f_malformed');
  return Buffer.from(value, 'base64url');
}
