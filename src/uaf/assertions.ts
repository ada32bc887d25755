import { SesameError } from '../errors.js';
import { malformed, parseTlvs, TAG, tagName, TlvSet, type Tlv } from './tlv.js';

/**
 * The two assertions a UAF server reads (UAF Authenticator Commands v1.2 §4, UAF Protocol §3.4.6.x):
 * UAFV1_REG_ASSERTION (KRD + attestation) and UAFV1_AUTH_ASSERTION (SignedData + signature).
 * Every field is checked for presence and size here; signatures and policy in verify.ts.
 */

export const AAID = /^[0-9A-Fa-f]{4}#[0-9A-Fa-f]{4}$/;

export interface Extension {
  id: string;
  data: Buffer;
  critical: boolean;
}

export interface AssertionInfo {
  authenticatorVersion: number;
  /** 0x01: the user was verified; 0x02: verified and the transaction content shown (auth only). */
  authenticationMode: number;
  signatureAlgAndEncoding: number;
  publicKeyAlgAndEncoding?: number;
}

export interface RegAssertion {
  aaid: string;
  info: AssertionInfo;
  finalChallengeHash: Buffer;
  keyId: Buffer;
  signCounter: number;
  regCounter: number;
  publicKey: Buffer;
  /** The whole KRD TLV, header included: what the attestation signature covers. */
  signedBytes: Buffer;
  attestation: { type: 'basic_full'; signature: Buffer; certificates: Buffer[] } | { type: 'basic_surrogate'; signature: Buffer };
  extensions: Extension[];
}

export interface AuthAssertion {
  aaid: string;
  info: AssertionInfo;
  authenticatorNonce: Buffer;
  finalChallengeHash: Buffer;
  transactionContentHash: Buffer;
  keyId: Buffer;
  signCounter: number;
  /** The whole SIGNED_DATA TLV, header included: what the signature covers. */
  signedBytes: Buffer;
  signature: Buffer;
  extensions: Extension[];
}

const KRD_TAGS = new Set<number>([TAG.AAID, TAG.ASSERTION_INFO, TAG.FINAL_CHALLENGE_HASH, TAG.KEYID, TAG.COUNTERS, TAG.PUB_KEY, TAG.EXTENSION, TAG.EXTENSION_NON_CRITICAL]);
const SIGNED_DATA_TAGS = new Set<number>([TAG.AAID, TAG.ASSERTION_INFO, TAG.AUTHENTICATOR_NONCE, TAG.FINAL_CHALLENGE_HASH, TAG.TRANSACTION_CONTENT_HASH, TAG.KEYID, TAG.COUNTERS, TAG.EXTENSION, TAG.EXTENSION_NON_CRITICAL]);

const attestationRefused = (message: string) => new SesameError('uaf_attestation', 400, message);

/** Parses base64url UAFV1TLV and tells which assertion it is. */
export function decodeAssertion(bytes: Buffer): { kind: 'reg'; assertion: RegAssertion } | { kind: 'auth'; assertion: AuthAssertion } {
  const top = parseTlvs(bytes);
  if (top.length !== 1) throw malformed(`it holds ${top.length} top-level items, not one assertion`);
  const [item] = top as [Tlv];
  if (item.tag === TAG.UAFV1_REG_ASSERTION) return { kind: 'reg', assertion: regAssertion(item) };
  if (item.tag === TAG.UAFV1_AUTH_ASSERTION) return { kind: 'auth', assertion: authAssertion(item) };
  throw malformed(`it starts with ${tagName(item.tag)}, not UAFV1_REG_ASSERTION or UAFV1_AUTH_ASSERTION`);
}

export function regAssertion(item: Tlv): RegAssertion {
  const outer = new TlvSet('UAFV1_REG_ASSERTION', item.children!);
  refuseUnknown(outer, new Set([TAG.UAFV1_KRD, TAG.ATTESTATION_BASIC_FULL, TAG.ATTESTATION_BASIC_SURROGATE, TAG.ATTESTATION_ECDAA,
    TAG.ATTESTATION_ATTCA, TAG.ATTESTATION_NONE, TAG.ATTESTATION_ANONCA, TAG.EXTENSION, TAG.EXTENSION_NON_CRITICAL]));
  const krdTlv = outer.required(TAG.UAFV1_KRD);
  const krd = new TlvSet('UAFV1_KRD', krdTlv.children!);
  refuseUnknown(krd, KRD_TAGS);
  const info = krd.required(TAG.ASSERTION_INFO, 7).value;
  const counters = krd.required(TAG.COUNTERS, 8).value;
  return {
    aaid: aaid(krd),
    info: {
      authenticatorVersion: info.readUInt16LE(0),
      authenticationMode: info[2]!,
      signatureAlgAndEncoding: info.readUInt16LE(3),
      publicKeyAlgAndEncoding: info.readUInt16LE(5),
    },
    finalChallengeHash: nonEmpty(krd, TAG.FINAL_CHALLENGE_HASH),
    keyId: nonEmpty(krd, TAG.KEYID),
    signCounter: counters.readUInt32LE(0),
    regCounter: counters.readUInt32LE(4),
    publicKey: nonEmpty(krd, TAG.PUB_KEY),
    signedBytes: krdTlv.raw,
    attestation: attestation(outer),
    extensions: [...extensions(krd), ...extensions(outer)],
  };
}

export function authAssertion(item: Tlv): AuthAssertion {
  const outer = new TlvSet('UAFV1_AUTH_ASSERTION', item.children!);
  refuseUnknown(outer, new Set([TAG.UAFV1_SIGNED_DATA, TAG.SIGNATURE, TAG.EXTENSION, TAG.EXTENSION_NON_CRITICAL]));
  const signedTlv = outer.required(TAG.UAFV1_SIGNED_DATA);
  const signed = new TlvSet('UAFV1_SIGNED_DATA', signedTlv.children!);
  refuseUnknown(signed, SIGNED_DATA_TAGS);
  const info = signed.required(TAG.ASSERTION_INFO, 5).value;
  return {
    aaid: aaid(signed),
    info: { authenticatorVersion: info.readUInt16LE(0), authenticationMode: info[2]!, signatureAlgAndEncoding: info.readUInt16LE(3) },
    authenticatorNonce: nonEmpty(signed, TAG.AUTHENTICATOR_NONCE),
    finalChallengeHash: nonEmpty(signed, TAG.FINAL_CHALLENGE_HASH),
    transactionContentHash: signed.required(TAG.TRANSACTION_CONTENT_HASH).value,
    keyId: nonEmpty(signed, TAG.KEYID),
    signCounter: signed.required(TAG.COUNTERS, 4).value.readUInt32LE(0),
    signedBytes: signedTlv.raw,
    signature: nonEmpty(outer, TAG.SIGNATURE),
    extensions: [...extensions(signed), ...extensions(outer)],
  };
}

function attestation(outer: TlvSet): RegAssertion['attestation'] {
  const full = outer.optional(TAG.ATTESTATION_BASIC_FULL);
  const surrogate = outer.optional(TAG.ATTESTATION_BASIC_SURROGATE);
  if (outer.optional(TAG.ATTESTATION_ECDAA)) throw attestationRefused('The authenticator uses ECDAA attestation, which this server does not accept (it was removed from FIDO).');
  for (const tag of [TAG.ATTESTATION_ATTCA, TAG.ATTESTATION_NONE, TAG.ATTESTATION_ANONCA]) {
    if (outer.optional(tag)) throw attestationRefused(`The authenticator uses ${tagName(tag)}, which UAF registration does not accept (basic full or surrogate only).`);
  }
  if (full && surrogate) throw malformed('it holds both basic full and basic surrogate attestation');
  if (surrogate) {
    const set = new TlvSet('ATTESTATION_BASIC_SURROGATE', surrogate.children!);
    refuseUnknown(set, new Set([TAG.SIGNATURE]));
    return { type: 'basic_surrogate', signature: nonEmpty(set, TAG.SIGNATURE) };
  }
  if (!full) throw malformed('it has no attestation (basic full or basic surrogate)');
  const set = new TlvSet('ATTESTATION_BASIC_FULL', full.children!);
  refuseUnknown(set, new Set([TAG.SIGNATURE, TAG.ATTESTATION_CERT]));
  const certs = set.all(TAG.ATTESTATION_CERT);
  if (certs.length === 0) throw malformed('basic full attestation without ATTESTATION_CERT');
  // The attestation certificate first, then (UAF 1.1+) the rest of the chain, each in its own tag.
  const certificates = certs.map((c) => c.value);
  return { type: 'basic_full', signature: nonEmpty(set, TAG.SIGNATURE), certificates };
}

function aaid(set: TlvSet): string {
  const value = set.required(TAG.AAID, 9).value.toString('latin1');
  if (!AAID.test(value)) throw malformed(`the AAID "${value.replace(/[^\x20-\x7e]/g, '?')}" is not VVVV#MMMM in hexadecimal`);
  return value.toUpperCase();
}

function nonEmpty(set: TlvSet, tag: number): Buffer {
  const item = set.required(tag);
  if (item.value.length === 0) throw malformed(`${tagName(tag)} is empty`);
  return item.value;
}

function refuseUnknown(set: TlvSet, known: Set<number>): void {
  const unknown = set.tags().find((t) => !known.has(t));
  if (unknown !== undefined) throw malformed(`${set.parent} holds ${tagName(unknown)}, which does not belong there`);
}

/**
 * Extensions (Authenticator Commands §5.4): a critical one this server does not know makes the
 * assertion unacceptable; non-critical ones are kept for the record. Sesame knows none yet.
 */
function extensions(set: TlvSet): Extension[] {
  const found = [...set.all(TAG.EXTENSION), ...set.all(TAG.EXTENSION_NON_CRITICAL)].map((item) => {
    const inner = new TlvSet(tagName(item.tag), item.children!);
    refuseUnknown(inner, new Set([TAG.EXTENSION_ID, TAG.EXTENSION_DATA]));
    const id = inner.required(TAG.EXTENSION_ID).value.toString('utf8');
    return { id, data: inner.optional(TAG.EXTENSION_DATA)?.value ?? Buffer.alloc(0), critical: item.tag === TAG.EXTENSION };
  });
  const critical = found.find((e) => e.critical);
  if (critical) throw new SesameError('uaf_unknown_extension', 400, `The UAF assertion carries the critical extension "${critical.id}", which this server does not know.`);
  return found;
}
