import { badRequest } from '../errors.js';

/**
 * UAFV1TLV (UAF Authenticator Commands v1.2 §3.1): UINT16 tag, UINT16 length (both little-endian,
 * the length without the 4-byte header), then the value. Tags with bit 0x1000 set are composite:
 * their value is again a sequence of TLVs.
 */

export const TAG = {
  UAFV1_REG_ASSERTION: 0x3e01,
  UAFV1_AUTH_ASSERTION: 0x3e02,
  UAFV1_KRD: 0x3e03,
  UAFV1_SIGNED_DATA: 0x3e04,
  ATTESTATION_CERT: 0x2e05,
  SIGNATURE: 0x2e06,
  ATTESTATION_BASIC_FULL: 0x3e07,
  ATTESTATION_BASIC_SURROGATE: 0x3e08,
  ATTESTATION_ECDAA: 0x3e09,
  ATTESTATION_ATTCA: 0x3e0a,
  ATTESTATION_NONE: 0x3e0b,
  ATTESTATION_ANONCA: 0x3e0c,
  KEYID: 0x2e09,
  FINAL_CHALLENGE_HASH: 0x2e0a,
  AAID: 0x2e0b,
  PUB_KEY: 0x2e0c,
  COUNTERS: 0x2e0d,
  ASSERTION_INFO: 0x2e0e,
  AUTHENTICATOR_NONCE: 0x2e0f,
  TRANSACTION_CONTENT_HASH: 0x2e10,
  EXTENSION: 0x3e11,
  EXTENSION_NON_CRITICAL: 0x3e12,
  EXTENSION_ID: 0x2e13,
  EXTENSION_DATA: 0x2e14,
} as const;

const NAMES = new Map<number, string>(Object.entries(TAG).map(([name, tag]) => [tag, name]));
export const tagName = (tag: number) => NAMES.get(tag) ?? `0x${tag.toString(16).padStart(4, '0')}`;

/** An assertion is a few kB (an attestation chain at most); anything bigger is refused unread. */
export const MAX_ASSERTION_BYTES = 16 * 1024;
/** Nesting in UAFV1TLV is at most three deep (assertion → attestation → cert); a little slack. */
const MAX_DEPTH = 4;

export interface Tlv {
  tag: number;
  /** The value (for a composite tag, the bytes of its children). */
  value: Buffer;
  /** Header and value: what signatures cover. */
  raw: Buffer;
  children?: Tlv[];
}

export const malformed = (what: string) => badRequest(`The UAF assertion is malformed: ${what}.`, 'uaf_malformed');

export const isComposite = (tag: number) => (tag & 0x1000) !== 0;

/** Parses a whole buffer as a sequence of TLVs; every byte must belong to one. */
export function parseTlvs(bytes: Buffer, depth = 0): Tlv[] {
  if (depth === 0 && bytes.length > MAX_ASSERTION_BYTES) throw malformed(`it is ${bytes.length} bytes, more than the ${MAX_ASSERTION_BYTES} accepted`);
  if (depth > MAX_DEPTH) throw malformed('it is nested too deeply');
  const items: Tlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 4) throw malformed(`${bytes.length - offset} stray byte(s) where a tag and length were expected`);
    const tag = bytes.readUInt16LE(offset);
    const length = bytes.readUInt16LE(offset + 2);
    const end = offset + 4 + length;
    if (end > bytes.length) throw malformed(`${tagName(tag)} says ${length} bytes but only ${bytes.length - offset - 4} follow`);
    const value = bytes.subarray(offset + 4, end);
    const item: Tlv = { tag, value, raw: bytes.subarray(offset, end) };
    if (isComposite(tag) && NAMES.has(tag)) item.children = parseTlvs(value, depth + 1);
    items.push(item);
    offset = end;
  }
  return items;
}

/** The children of a composite TLV by tag, refusing repeats of the tags that must be single. */
export class TlvSet {
  private readonly byTag = new Map<number, Tlv[]>();

  constructor(readonly parent: string, children: Tlv[]) {
    for (const child of children) {
      const list = this.byTag.get(child.tag) ?? [];
      list.push(child);
      this.byTag.set(child.tag, list);
    }
  }

  tags(): number[] {
    return [...this.byTag.keys()];
  }

  optional(tag: number): Tlv | undefined {
    const list = this.byTag.get(tag);
    if (list && list.length > 1) throw malformed(`${this.parent} holds ${tagName(tag)} ${list.length} times`);
    return list?.[0];
  }

  required(tag: number, length?: number): Tlv {
    const item = this.optional(tag);
    if (!item) throw malformed(`${this.parent} has no ${tagName(tag)}`);
    if (length !== undefined && item.value.length !== length) throw malformed(`${tagName(tag)} is ${item.value.length} bytes, not ${length}`);
    return item;
  }

  all(tag: number): Tlv[] {
    return this.byTag.get(tag) ?? [];
  }
}
