import { X509Certificate } from 'node:crypto';
import { SesameError } from '../errors.js';
import { parseRegistrationData } from '../u2f/raw-messages.js';
import { verifyU2fRegistration, verifyU2fSignature, type RegisterResponse, type SignResponse } from '../u2f/verify.js';
import type { Outcome } from './webauthn-cases.js';

/** One line of ../shared/vectors/u2f.jsonl (see that folder's README). */
export interface U2fCase {
  case: string;
  kind: 'register' | 'sign';
  appId: string;
  facets: string[];
  challenge: string;
  registerResponse?: RegisterResponse;
  registered?: { keyHandle: string; publicKey: string; counter: number | string };
  signResponse?: SignResponse;
  expectedKeyHandle?: string;
  expectedPublicKey?: string;
  verifyAt?: string;
  expect: 'valid' | 'invalid';
}

export function isU2fCase(c: { kind?: unknown }): boolean {
  return c.kind === 'register' || c.kind === 'sign';
}

/**
 * Runs one case through src/u2f. The attestation certificate is checked for validity at the
 * case's verifyAt; the U2F vectors carry none (their source never checks dates, and the spec
 * example's certificate expired in 2013), so they are verified as of the certificate's notBefore
 * and the detail says so. What the registration returns is compared with the case's expectations.
 */
export function runU2fCase(c: U2fCase): Outcome {
  const expectation = { appId: c.appId, facets: c.facets, challenge: c.challenge };
  let detail = 'verified';
  try {
    if (c.kind === 'register') {
      const at = c.verifyAt ? new Date(c.verifyAt) : certificateStart(c.registerResponse!);
      const verified = verifyU2fRegistration(c.registerResponse!, { ...expectation, at });
      const keyHandle = verified.keyHandle.toString('base64url');
      const publicKey = verified.publicKey.toString('base64url');
      if (c.expectedKeyHandle && keyHandle !== c.expectedKeyHandle) return { verdict: 'mismatch', detail: `verified, but key handle ${keyHandle}` };
      if (c.expectedPublicKey && publicKey !== c.expectedPublicKey) return { verdict: 'mismatch', detail: `verified, but public key ${publicKey}` };
      detail = `verified as of ${at.toISOString()}${c.verifyAt ? '' : ' (the attestation certificate\'s notBefore: the case has no clock)'}`;
    } else {
      const registered = c.registered!;
      const { counter } = verifyU2fSignature(c.signResponse!, {
        keyHandle: registered.keyHandle,
        publicKey: Buffer.from(registered.publicKey, 'base64url'),
        counter: Number(registered.counter),
      }, expectation);
      detail = `verified, counter ${counter}`;
    }
  } catch (error) {
    if (!(error instanceof SesameError)) return { verdict: 'mismatch', detail: `crashed instead of a clean rejection: ${(error as Error).message}` };
    return c.expect === 'invalid'
      ? { verdict: 'pass', detail: `rejected: ${error.message}` }
      : { verdict: 'mismatch', detail: `expected valid, rejected: ${error.message}` };
  }
  return c.expect === 'valid' ? { verdict: 'pass', detail } : { verdict: 'mismatch', detail: `expected invalid, but it ${detail}` };
}

function certificateStart(response: RegisterResponse): Date {
  try {
    return new Date(new X509Certificate(parseRegistrationData(Buffer.from(response.registrationData, 'base64url')).certificateDer).validFrom);
  } catch {
    return new Date();
  }
}
