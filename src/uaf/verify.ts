import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SesameError, badRequest } from '../errors.js';
import { parseCertificate, type ChainCertificate } from '../webauthn/attestation/certificates.js';
import { anchorChain, type TrustResult } from '../webauthn/attestation/trust.js';
import { algorithm, readPublicKey, verifyUafSignature } from './algorithms.js';
import { decodeAssertion, type AuthAssertion, type RegAssertion } from './assertions.js';
import { finalChallengeParamsSchema, SUPPORTED_VERSIONS, type FinalChallengeParams, type Transaction, type UafResponse } from './messages.js';

/**
 * Server-side checks of UAF responses (UAF Protocol v1.2 §3.4.6.5 registration, §3.5.7.5
 * authentication): header, final challenge parameters, then each assertion's TLV, hash, signature,
 * attestation and counters. Pure: what is stored and what is policy is the service's business.
 */

export interface Expectation {
  op: 'Reg' | 'Auth';
  appId: string;
  /** The trusted facet ids of the AppID (the fcParams facetID must be one). */
  facets: string[];
  /** The challenge the server issued (as the client echoes it in fcParams). */
  challenge: string;
}

export interface CheckedResponse {
  fcParams: FinalChallengeParams;
  /** SHA-256 of the fcParams string as sent: what the authenticator signed as FINAL_CHALLENGE_HASH. */
  finalChallengeHash: Buffer;
}

export interface VerifiedRegistration {
  aaid: string;
  keyId: string;
  /** SubjectPublicKeyInfo DER of UAuth.pub, whatever format the authenticator sent. */
  publicKey: Buffer;
  signatureAlg: number;
  signCounter: number;
  regCounter: number;
  userVerified: boolean;
  attestation: { type: 'basic_full' | 'basic_surrogate' } & TrustResult;
}

export interface RegisteredKey {
  aaid: string;
  keyId: string;
  publicKey: Buffer;
  signatureAlg: number;
  signCounter: number;
}

export interface VerifiedAuthentication {
  aaid: string;
  keyId: string;
  signCounter: number;
  /** The authenticator showed the transaction text and the person confirmed it (mode 0x02). */
  transactionConfirmed: boolean;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();
const refused = (code: string, message: string) => new SesameError(code, 400, message);

/** The header and the final challenge parameters, common to registration and authentication. */
export function checkResponse(response: UafResponse, expected: Expectation): CheckedResponse {
  checkVersion(response);
  const { op, appID } = response.header;
  if (op !== expected.op) throw refused('uaf_wrong_operation', `This is a ${op} message where a ${expected.op} response was expected.`);
  if (appID && appID !== expected.appId) throw refused('uaf_appid', `The response names the AppID ${appID}, not ${expected.appId}.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(response.fcParams, 'base64url').toString('utf8'));
  } catch {
    throw refused('uaf_malformed', 'The UAF fcParams are not base64url JSON.');
  }
  const fc = finalChallengeParamsSchema.safeParse(parsed);
  if (!fc.success) throw refused('uaf_malformed', `The UAF fcParams are not FinalChallengeParams: ${fc.error.issues[0]?.path.join('.') || 'value'} ${fc.error.issues[0]?.message ?? ''}.`);
  if (fc.data.appID !== expected.appId) throw refused('uaf_appid', `The client used the AppID ${fc.data.appID}, not ${expected.appId}.`);
  if (fc.data.challenge !== expected.challenge) throw refused('uaf_challenge', 'The UAF response answers another challenge than the one issued.');
  if (!expected.facets.includes(fc.data.facetID)) throw refused('uaf_untrusted_facet', `The facet ${fc.data.facetID} is not a trusted facet of this AppID.`);
  return { fcParams: fc.data, finalChallengeHash: sha256(response.fcParams) };
}

export function checkVersion(response: UafResponse): void {
  const { upv } = response.header;
  if (!SUPPORTED_VERSIONS.some((v) => v.major === upv.major && v.minor === upv.minor)) {
    throw refused('uaf_version', `UAF version ${upv.major}.${upv.minor} is not supported (1.0, 1.1 and 1.2 are).`);
  }
}

function assertionBytes(assertion: { assertionScheme: string; assertion: string }): Buffer {
  if (assertion.assertionScheme !== 'UAFV1TLV') throw refused('uaf_assertion_scheme', `The assertion scheme ${assertion.assertionScheme} is not supported (UAFV1TLV is).`);
  return Buffer.from(assertion.assertion, 'base64url');
}

export function decodeRegAssertion(assertion: { assertionScheme: string; assertion: string }): RegAssertion {
  const decoded = decodeAssertion(assertionBytes(assertion));
  if (decoded.kind !== 'reg') throw badRequest('The UAF registration response carries an authentication assertion.', 'uaf_malformed');
  return decoded.assertion;
}

export function decodeAuthAssertion(assertion: { assertionScheme: string; assertion: string }): AuthAssertion {
  const decoded = decodeAssertion(assertionBytes(assertion));
  if (decoded.kind !== 'auth') throw badRequest('The UAF authentication response carries a registration assertion.', 'uaf_malformed');
  return decoded.assertion;
}

/**
 * One registration assertion: its final challenge hash, UAuth.pub in the format and algorithm it
 * names, and the attestation signature over the KRD — by the attestation certificate (basic full;
 * its chain is then followed to `roots` at `at`: a result, the caller decides) or by UAuth itself (surrogate).
 */
export function verifyRegAssertion(reg: RegAssertion, checked: CheckedResponse, trust: { roots: ChainCertificate['x509'][]; at: Date }): VerifiedRegistration {
  if (!reg.finalChallengeHash.equals(checked.finalChallengeHash)) throw refused('uaf_challenge', 'The registration assertion signs other final challenge parameters than the ones sent.');
  const alg = reg.info.signatureAlgAndEncoding;
  const userKey = readPublicKey(alg, reg.info.publicKeyAlgAndEncoding!, reg.publicKey);
  let attestation: VerifiedRegistration['attestation'];
  if (reg.attestation.type === 'basic_surrogate') {
    if (!verifyUafSignature(alg, userKey, reg.signedBytes, reg.attestation.signature)) throw refused('uaf_bad_signature', 'The surrogate attestation signature does not match the new key.');
    attestation = { type: 'basic_surrogate', verified: false, reason: 'basic surrogate attestation (self-signed): the authenticator model is not proven' };
  } else {
    const chain = reg.attestation.certificates.map((der) => {
      try {
        return parseCertificate(der, 'UAF');
      } catch {
        throw badRequest('The UAF attestation certificate cannot be read.', 'uaf_malformed');
      }
    });
    if (!verifyUafSignature(alg, chain[0]!.x509.publicKey, reg.signedBytes, reg.attestation.signature)) {
      throw refused('uaf_bad_signature', 'The attestation signature does not match the attestation certificate.');
    }
    // The roots the operator's UAF policy trusts.
    attestation = { type: 'basic_full', ...anchorChain(chain, trust.roots.map((certificate) => ({ certificate, source: 'tenant' as const })), trust.at) };
  }
  return {
    aaid: reg.aaid,
    keyId: reg.keyId.toString('base64url'),
    publicKey: userKey.export({ type: 'spki', format: 'der' }),
    signatureAlg: alg,
    signCounter: reg.signCounter,
    regCounter: reg.regCounter,
    userVerified: (reg.info.authenticationMode & 0x01) !== 0,
    attestation,
  };
}

/**
 * One authentication assertion against the registered key: final challenge hash, signature over
 * SignedData, transaction confirmation (mode 0x02 and the content's hash) when a transaction was
 * sent, and a sign counter that moved forward (0 forever means the authenticator keeps none).
 */
export function verifyAuthAssertion(auth: AuthAssertion, checked: CheckedResponse, key: RegisteredKey, transaction?: Transaction): VerifiedAuthentication {
  if (auth.aaid !== key.aaid || auth.keyId.toString('base64url') !== key.keyId) throw refused('uaf_unknown_key', 'The assertion is by another authenticator or key than the registered one.');
  if (!auth.finalChallengeHash.equals(checked.finalChallengeHash)) throw refused('uaf_challenge', 'The authentication assertion signs other final challenge parameters than the ones sent.');
  const alg = auth.info.signatureAlgAndEncoding;
  if (alg !== key.signatureAlg) throw refused('uaf_unacceptable_algorithm', 'The assertion uses another signature algorithm than the key was registered with.');
  const publicKey: KeyObject = createPublicKey({ key: key.publicKey, format: 'der', type: 'spki' });
  if (!verifyUafSignature(alg, publicKey, auth.signedBytes, auth.signature)) throw refused('uaf_bad_signature', 'The UAF signature does not match the registered key.');
  if (transaction) {
    if (auth.info.authenticationMode !== 0x02) throw refused('uaf_transaction', 'The authenticator did not show the transaction to the person (authentication mode is not 0x02).');
    const hash = transactionHash(alg, Buffer.from(transaction.content, 'base64url'));
    if (!auth.transactionContentHash.equals(hash)) throw refused('uaf_transaction', 'The confirmed transaction is not the one sent (TRANSACTION_CONTENT_HASH differs).');
  } else if (auth.transactionContentHash.length !== 0) {
    throw refused('uaf_transaction', 'The assertion confirms a transaction, but none was sent.');
  }
  if ((auth.signCounter !== 0 || key.signCounter !== 0) && auth.signCounter <= key.signCounter) {
    throw refused('uaf_counter', `The sign counter did not increase (${auth.signCounter} after ${key.signCounter}): the authenticator may be cloned.`);
  }
  return { aaid: auth.aaid, keyId: key.keyId, signCounter: auth.signCounter, transactionConfirmed: Boolean(transaction) };
}

/** TRANSACTION_CONTENT_HASH uses the hash of the signature algorithm (FIDO Registry §3.6.1). */
export function transactionHash(alg: number, content: Buffer): Buffer {
  const { hash, kind } = algorithm(alg);
  return createHash(kind === 'eddsa' ? 'sha512' : hash!).update(content).digest();
}
