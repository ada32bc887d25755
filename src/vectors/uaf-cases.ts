import { SesameError } from '../errors.js';
import { parseTlvs } from '../uaf/tlv.js';
import { decodeAssertion } from '../uaf/assertions.js';
import { MESSAGE_SCHEMAS, responseSchema } from '../uaf/messages.js';
import { checkResponse, decodeAuthAssertion, decodeRegAssertion, verifyAuthAssertion, verifyRegAssertion, type Expectation } from '../uaf/verify.js';
import type { Outcome } from './webauthn-cases.js';

/** One line of ../shared/vectors/uaf.jsonl (see that folder's README). */
export interface UafCase {
  case: string;
  kind: keyof typeof MESSAGE_SCHEMAS | 'TLVAssertion';
  message: unknown;
  expect: 'valid' | 'parse';
  registeredPublicKey?: string;
}

const KINDS = ['RegistrationRequest', 'RegistrationResponse', 'AuthenticationRequest', 'AuthenticationResponse', 'DeregistrationRequest', 'TLVAssertion'];

export function isUafCase(c: { kind?: unknown }): boolean {
  return typeof c.kind === 'string' && KINDS.includes(c.kind);
}

/**
 * `parse`: the message must read as its kind (the schema Sesame's endpoints use) and every
 * assertion in it as UAFV1TLV; whether Sesame's stricter checks would accept the assertion is said
 * in the detail. `valid`: the response must pass verification. The source cases state no challenge
 * and no facets, so the ones inside fcParams are the expected ones, and no attestation root is
 * known (the chain is reported, not required).
 */
export function runUafCase(c: UafCase): Outcome {
  try {
    if (c.kind === 'TLVAssertion') return { verdict: 'pass', detail: describeAssertion(c.message as string) };
    const parsed = MESSAGE_SCHEMAS[c.kind].safeParse(first(c.message));
    if (!parsed.success) return { verdict: 'mismatch', detail: `does not parse as ${c.kind}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` };
    if (c.expect === 'parse') {
      const assertions = (parsed.data as { assertions?: Array<{ assertion: string }> }).assertions ?? [];
      return { verdict: 'pass', detail: ['parses', ...assertions.map((a) => describeAssertion(a.assertion))].join('; ') };
    }
    return { verdict: 'pass', detail: verifyCase(c) };
  } catch (error) {
    if (!(error instanceof SesameError)) return { verdict: 'mismatch', detail: `crashed instead of a clean rejection: ${(error as Error).message}` };
    return { verdict: 'mismatch', detail: `expected ${c.expect}, rejected: ${error.message}` };
  }
}

function first(message: unknown): unknown {
  return Array.isArray(message) ? message[0] : message;
}

function describeAssertion(base64url: string): string {
  const bytes = Buffer.from(base64url, 'base64url');
  parseTlvs(bytes);
  try {
    const decoded = decodeAssertion(bytes);
    return `TLV parses: ${decoded.kind === 'reg' ? 'UAFV1_REG_ASSERTION' : 'UAFV1_AUTH_ASSERTION'} by ${decoded.assertion.aaid}, alg 0x${decoded.assertion.info.signatureAlgAndEncoding.toString(16).padStart(4, '0')}`;
  } catch (error) {
    if (!(error instanceof SesameError)) throw error;
    return `TLV parses; Sesame would refuse the assertion: ${error.message}`;
  }
}

function verifyCase(c: UafCase): string {
  const response = responseSchema.parse(first(c.message));
  const fc = JSON.parse(Buffer.from(response.fcParams, 'base64url').toString('utf8')) as { appID: string; challenge: string; facetID: string };
  const expectation: Expectation = { op: c.kind === 'RegistrationResponse' ? 'Reg' : 'Auth', appId: fc.appID, facets: [fc.facetID], challenge: fc.challenge };
  const checked = checkResponse(response, expectation);
  if (c.kind === 'RegistrationResponse') {
    const details = response.assertions.map((a) => {
      const verified = verifyRegAssertion(decodeRegAssertion(a), checked, { roots: [], at: new Date() });
      return `registered ${verified.aaid} (${verified.attestation.type}; ${verified.attestation.verified ? 'chain trusted' : verified.attestation.reason})`;
    });
    return `verified: ${details.join('; ')}`;
  }
  const details = response.assertions.map((a) => {
    const auth = decodeAuthAssertion(a);
    const verified = verifyAuthAssertion(auth, checked, {
      aaid: auth.aaid, keyId: auth.keyId.toString('base64url'), publicKey: Buffer.from(c.registeredPublicKey!, 'base64url'),
      signatureAlg: auth.info.signatureAlgAndEncoding, signCounter: 0,
    });
    return `signed by ${verified.aaid}, counter ${verified.signCounter}`;
  });
  return `verified: ${details.join('; ')}`;
}
