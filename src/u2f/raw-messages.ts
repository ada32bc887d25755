import { X509Certificate } from 'node:crypto';
import { badRequest } from '../errors.js';

/**
 * The binary layouts of FIDO U2F Raw Message Formats v1.2 (§4.3 registration response, §5.4
 * authentication response), parsed by the spec. The certificate itself is left to node:crypto.
 */

export const USER_PUBLIC_KEY_LENGTH = 65;

export interface RegistrationData {
  /** 04‖X‖Y, the P-256 point of the new key pair. */
  userPublicKey: Buffer;
  keyHandle: Buffer;
  certificateDer: Buffer;
  certificate: X509Certificate;
  /** ECDSA (DER) by the attestation key over 0x00‖SHA-256(appId)‖SHA-256(clientData)‖keyHandle‖userPublicKey. */
  signature: Buffer;
}

export interface SignatureData {
  userPresence: number;
  counter: number;
  /** ECDSA (DER) by the user key over SHA-256(appId)‖userPresence‖counter‖SHA-256(clientData). */
  signature: Buffer;
  /** userPresence‖counter, as they appear in the signed bytes. */
  presenceAndCounter: Buffer;
}

const malformed = (what: string) => badRequest(`The U2F message is malformed: ${what}.`, 'u2f_malformed');

export function parseRegistrationData(bytes: Buffer): RegistrationData {
  if (bytes.length < 1 + USER_PUBLIC_KEY_LENGTH + 1) throw malformed('the registration data is too short');
  if (bytes[0] !== 0x05) throw malformed('the registration data does not start with the reserved byte 0x05');
  const userPublicKey = bytes.subarray(1, 1 + USER_PUBLIC_KEY_LENGTH);
  const keyHandleLength = bytes[1 + USER_PUBLIC_KEY_LENGTH]!;
  const certificateStart = 2 + USER_PUBLIC_KEY_LENGTH + keyHandleLength;
  if (keyHandleLength === 0 || bytes.length < certificateStart) throw malformed('the key handle is missing or cut short');
  const keyHandle = bytes.subarray(2 + USER_PUBLIC_KEY_LENGTH, certificateStart);
  const certificateLength = derLength(bytes, certificateStart);
  const certificateDer = bytes.subarray(certificateStart, certificateStart + certificateLength);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateDer);
  } catch {
    throw malformed('the attestation certificate is not an X.509 certificate');
  }
  const signature = bytes.subarray(certificateStart + certificateLength);
  if (signature.length === 0) throw malformed('the attestation signature is missing');
  return { userPublicKey, keyHandle, certificateDer, certificate, signature };
}

export function parseSignatureData(bytes: Buffer): SignatureData {
  if (bytes.length < 6) throw malformed('the signature data is too short');
  return {
    userPresence: bytes[0]!,
    counter: bytes.readUInt32BE(1),
    signature: bytes.subarray(5),
    presenceAndCounter: bytes.subarray(0, 5),
  };
}

/**
 * The certificate is not length-prefixed in the registration response; the spec says to read its
 * length from its DER header: a SEQUENCE tag, then a short length or 0x81/0x82/0x83 and that many length bytes.
 */
function derLength(bytes: Buffer, start: number): number {
  if (bytes[start] !== 0x30 || bytes.length < start + 2) throw malformed('the attestation certificate is missing');
  const first = bytes[start + 1]!;
  let header = 2;
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 3 || bytes.length < start + 2 + count) throw malformed('the attestation certificate length is unreadable');
    length = bytes.readUIntBE(start + 2, count);
    header += count;
  }
  if (bytes.length < start + header + length) throw malformed('the attestation certificate is cut short');
  return header + length;
}
