import { createHash } from 'node:crypto';
import { parseCertificate } from './certificates.js';
import { verifyWithAlgorithm } from './cose-key.js';
import { bytesField, concat, type StatementInput, type VerifiedStatement } from './statement.js';

/** The SafetyNet attestation statement is fresh for a minute after Google signed it. */
const FRESH_FOR_MS = 60_000;
const JWS_ALGORITHMS: Record<string, number> = { RS256: -257, RS384: -258, RS512: -259, PS256: -37, ES256: -7, ES384: -35, ES512: -36 };

/** WebAuthn §8.5 Android SafetyNet attestation (a JWS from Google's SafetyNet service). */
export function verifyAndroidSafetyNet(input: StatementInput): VerifiedStatement {
  const ver = input.attStmt.get('ver');
  if (typeof ver !== 'string' || ver === '') throw new Error('the android-safetynet attestation statement lacks its version');
  const parts = Buffer.from(bytesField(input.attStmt, 'response', 'android-safetynet')).toString('utf8').split('.');
  if (parts.length !== 3) throw new Error('the android-safetynet response is not a JWS');
  let header: { alg?: string; x5c?: string[] };
  let payload: { nonce?: string; ctsProfileMatch?: boolean; timestampMs?: number };
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new Error('the android-safetynet response cannot be read');
  }
  if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error('the android-safetynet response has no certificate chain (x5c)');
  const chain = header.x5c.map((c) => parseCertificate(Buffer.from(String(c), 'base64'), 'android-safetynet'));
  const alg = JWS_ALGORITHMS[header.alg ?? ''];
  if (alg === undefined) throw new Error(`the android-safetynet response uses an unsupported algorithm (${String(header.alg)})`);
  const signature = Buffer.from(parts[2], 'base64url');
  if (!verifyWithAlgorithm(alg, chain[0].x509.publicKey, Buffer.from(`${parts[0]}.${parts[1]}`), header.alg!.startsWith('ES') ? joseToDer(signature) : signature)) {
    throw new Error('the android-safetynet response signature does not verify');
  }
  if (!chain[0].x509.checkHost('attest.android.com')) throw new Error('the android-safetynet response was not signed for attest.android.com');
  const nonce = createHash('sha256').update(concat(input.authData, input.clientDataHash)).digest('base64');
  if (payload.nonce !== nonce) throw new Error('the android-safetynet nonce does not match this registration');
  if (input.safetyNetRequireCtsProfile && payload.ctsProfileMatch !== true) {
    throw new Error('the android-safetynet response says the device failed its compatibility check (ctsProfileMatch is false)');
  }
  const age = input.now.getTime() - Number(payload.timestampMs);
  const stale = !(age >= 0 && age <= FRESH_FOR_MS) ? `the SafetyNet response is dated ${new Date(Number(payload.timestampMs)).toISOString()}, not within a minute before ${input.now.toISOString()}` : undefined;
  return { type: 'basic', chain, stale };
}

/** JWS ECDSA signatures are r || s; node:crypto verifies the DER form WebAuthn uses elsewhere. */
function joseToDer(signature: Buffer): Buffer {
  const half = signature.length / 2;
  const integer = (bytes: Buffer) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
    const trimmed = bytes.subarray(start);
    const value = trimmed[0] & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed;
    return Buffer.concat([Buffer.of(0x02, value.length), value]);
  };
  const body = Buffer.concat([integer(signature.subarray(0, half)), integer(signature.subarray(half))]);
  return Buffer.concat([Buffer.of(0x30, body.length), body]);
}
