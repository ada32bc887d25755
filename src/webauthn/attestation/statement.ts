import type { ChainCertificate } from './certificates.js';

/** What every attestation format verifier receives (WebAuthn §8: authenticatorData, clientDataHash, attStmt). */
export interface StatementInput {
  attStmt: Map<string, unknown>;
  authData: Uint8Array;
  clientDataHash: Uint8Array;
  rpIdHash: Uint8Array;
  credentialId: Uint8Array;
  credentialPublicKey: Uint8Array;
  aaguid: Uint8Array;
  /** The clock of freshness claims inside a statement (SafetyNet's timestampMs). */
  now: Date;
  /** Refuse a SafetyNet attestation whose device failed Android's compatibility (CTS) profile. */
  safetyNetRequireCtsProfile: boolean;
}

/** WebAuthn §6.5.4 attestation types. */
export type AttestationType = 'none' | 'self' | 'basic' | 'attca' | 'anonca';

export interface VerifiedStatement {
  type: AttestationType;
  /** The attestation certificate first, then the intermediates the statement carries. */
  chain: ChainCertificate[];
  /** A statement that verifies but whose freshness claim is out of date (SafetyNet timestampMs). */
  stale?: string;
}

export function bytesField(attStmt: Map<string, unknown>, name: string, format: string): Uint8Array {
  const value = attStmt.get(name);
  if (!(value instanceof Uint8Array)) throw new Error(`the ${format} attestation statement lacks its ${name}`);
  return value;
}

export function algField(attStmt: Map<string, unknown>, format: string): number {
  const value = attStmt.get('alg');
  if (typeof value !== 'number') throw new Error(`the ${format} attestation statement lacks its algorithm (alg)`);
  return value;
}

export const concat = (...parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));
