import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, constants, type KeyObject } from 'node:crypto';

/**
 * A software FIDO UAF authenticator with its UAF client in one: it answers a server's
 * RegistrationRequest / AuthenticationRequest / DeregistrationRequest (UAF Protocol v1.1) with real
 * UAFV1TLV assertions — basic surrogate attestation, ECDSA P-256 with raw r‖s by default
 * (ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW, ALG_KEY_ECC_X962_RAW), AAID FFFF#FC01 — and shows
 * transaction text through `confirm` before it signs it. Keys live in memory (export/import for a file).
 */

export type UafAlgorithm = 'es256-raw' | 'es256-der' | 'es384-raw' | 'rsa-pss-sha256-raw' | 'rsa-pss-sha256-der' | 'rsa-pkcs1-sha256-raw' | 'ed25519' | 'ed448';

interface AlgSpec { code: number; keyFormat: number; hash: string | null; make: () => { privateKey: KeyObject; publicKey: KeyObject }; sign: (key: KeyObject, data: Buffer) => Buffer; publicKey: (key: KeyObject) => Buffer; tcHash: string }

const ec = (curve: string) => () => generateKeyPairSync('ec', { namedCurve: curve });
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const rawPoint = (key: KeyObject) => {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
};
const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const octetString = (raw: Buffer) => Buffer.concat([Buffer.of(0x04, 0x82), u16be(raw.length), raw]);
const pss = (hash: string, salt: number) => (key: KeyObject, data: Buffer) => sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt });

const ALGS: Record<UafAlgorithm, AlgSpec> = {
  'es256-raw': { code: 0x0001, keyFormat: 0x0100, hash: 'sha256', make: ec('P-256'), sign: (key, d) => sign('sha256', d, { key, dsaEncoding: 'ieee-p1363' }), publicKey: rawPoint, tcHash: 'sha256' },
  'es256-der': { code: 0x0002, keyFormat: 0x0101, hash: 'sha256', make: ec('P-256'), sign: (key, d) => sign('sha256', d, { key, dsaEncoding: 'der' }), publicKey: spki, tcHash: 'sha256' },
  'es384-raw': { code: 0x0010, keyFormat: 0x0100, hash: 'sha384', make: ec('P-384'), sign: (key, d) => sign('sha384', d, { key, dsaEncoding: 'ieee-p1363' }), publicKey: rawPoint, tcHash: 'sha384' },
  'rsa-pss-sha256-raw': { code: 0x0003, keyFormat: 0x0103, hash: 'sha256', make: rsa, sign: pss('sha256', 32), publicKey: spki, tcHash: 'sha256' },
  'rsa-pss-sha256-der': { code: 0x0004, keyFormat: 0x0103, hash: 'sha256', make: rsa, sign: (k, d) => octetString(pss('sha256', 32)(k, d)), publicKey: spki, tcHash: 'sha256' },
  'rsa-pkcs1-sha256-raw': { code: 0x000c, keyFormat: 0x0102, hash: 'sha256', make: rsa, sign: (key, d) => sign('sha256', d, { key, padding: constants.RSA_PKCS1_PADDING }),
    publicKey: (key) => { const jwk = key.export({ format: 'jwk' }); return Buffer.concat([Buffer.from(jwk.n!, 'base64url'), Buffer.from(jwk.e!, 'base64url')]); }, tcHash: 'sha256' },
  ed25519: { code: 0x0012, keyFormat: 0x0100, hash: null, make: () => generateKeyPairSync('ed25519'), sign: (key, d) => sign(null, d, key), publicKey: (k) => Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'), tcHash: 'sha512' },
  ed448: { code: 0x0013, keyFormat: 0x0101, hash: null, make: () => generateKeyPairSync('ed448'), sign: (key, d) => sign(null, d, key), publicKey: spki, tcHash: 'sha512' },
};

const TAG = {
  REG_ASSERTION: 0x3e01, AUTH_ASSERTION: 0x3e02, KRD: 0x3e03, SIGNED_DATA: 0x3e04, SIGNATURE: 0x2e06, BASIC_SURROGATE: 0x3e08,
  KEYID: 0x2e09, FINAL_CHALLENGE_HASH: 0x2e0a, AAID: 0x2e0b, PUB_KEY: 0x2e0c, COUNTERS: 0x2e0d, ASSERTION_INFO: 0x2e0e,
  AUTHENTICATOR_NONCE: 0x2e0f, TRANSACTION_CONTENT_HASH: 0x2e10,
};

function u16be(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; }
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
/** One UAFV1TLV item: tag and length little-endian, then the value (composites: the children concatenated). */
export function tlv(tag: number, ...value: Buffer[]): Buffer {
  const body = Buffer.concat(value);
  return Buffer.concat([u16(tag), u16(body.length), body]);
}

export interface UafKey { aaid: string; keyId: string; username: string; appId: string; alg: UafAlgorithm; privateKeyPkcs8: string; signCounter: number }

export interface UafAuthenticatorOptions {
  aaid?: string;
  alg?: UafAlgorithm;
  /** The facet this client runs as (sent in fcParams); a web origin or an app facet id. */
  facetId: string;
  /** Shows transaction text to the person; returns whether they confirmed it. Without it, transactions are refused. */
  confirm?: (text: string) => boolean | Promise<boolean>;
  /** Report the user as verified (mode 0x01). */
  userVerification?: boolean;
}

/** What the client sends back: a UAF message array of one response. */
export type UafResponseMessage = Array<{ header: unknown; fcParams: string; assertions: Array<{ assertionScheme: 'UAFV1TLV'; assertion: string }> }>;

export class UafAuthenticator {
  readonly aaid: string;
  private readonly alg: UafAlgorithm;
  private keys: UafKey[] = [];

  constructor(private readonly options: UafAuthenticatorOptions) {
    this.aaid = options.aaid ?? 'FFFF#FC01';
    this.alg = options.alg ?? 'es256-raw';
  }

  /** The facet this client answers as (its origin or app facet id). */
  get facetId(): string {
    return this.options.facetId;
  }

  get registrations(): ReadonlyArray<Omit<UafKey, 'privateKeyPkcs8'>> {
    return this.keys.map(({ privateKeyPkcs8: _secret, ...rest }) => rest);
  }

  export(): string {
    return JSON.stringify({ aaid: this.aaid, keys: this.keys });
  }

  import(saved: string): void {
    this.keys = (JSON.parse(saved) as { keys: UafKey[] }).keys;
  }

  /** Answers the first RegistrationRequest of `message` (an array of per-version requests). */
  register(message: unknown): UafResponseMessage {
    const request = pick(message, 'Reg') as unknown as { header: Header; challenge: string; username: string; policy: { accepted: Array<Array<{ aaid?: string[] }>>; disallowed?: Array<{ aaid?: string[] }> } };
    if (!request.policy.accepted.some((set) => set.some((c) => !c.aaid || c.aaid.includes(this.aaid)))) throw new Error(`the server's policy does not accept ${this.aaid}`);
    const { fcParams, hash } = this.finalChallenge(request.header, request.challenge);
    const spec = ALGS[this.alg];
    const pair = spec.make();
    const keyId = randomBytes(32);
    const krd = tlv(TAG.KRD,
      tlv(TAG.AAID, Buffer.from(this.aaid, 'latin1')),
      tlv(TAG.ASSERTION_INFO, u16(1), Buffer.of(this.options.userVerification === false ? 0x00 : 0x01), u16(spec.code), u16(spec.keyFormat)),
      tlv(TAG.FINAL_CHALLENGE_HASH, hash),
      tlv(TAG.KEYID, keyId),
      tlv(TAG.COUNTERS, u32(0), u32(this.keys.length + 1)),
      tlv(TAG.PUB_KEY, spec.publicKey(pair.publicKey)));
    const assertion = tlv(TAG.REG_ASSERTION, krd, tlv(TAG.BASIC_SURROGATE, tlv(TAG.SIGNATURE, spec.sign(pair.privateKey, krd))));
    this.keys.push({
      aaid: this.aaid, keyId: keyId.toString('base64url'), username: request.username, appId: request.header.appID ?? '', alg: this.alg,
      privateKeyPkcs8: pair.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64url'), signCounter: 0,
    });
    return [{ header: request.header, fcParams, assertions: [{ assertionScheme: 'UAFV1TLV', assertion: assertion.toString('base64url') }] }];
  }

  /** Answers an AuthenticationRequest with the first registered key the policy names (showing the transaction text first). */
  async authenticate(message: unknown): Promise<UafResponseMessage> {
    const request = pick(message, 'Auth') as unknown as { header: Header; challenge: string; transaction?: Array<{ contentType: string; content: string }>; policy: { accepted: Array<Array<{ aaid?: string[]; keyIDs?: string[] }>> } };
    const wanted = request.policy.accepted.flat();
    const key = this.keys.find((k) => wanted.some((c) => (!c.aaid || c.aaid.includes(k.aaid)) && (!c.keyIDs || c.keyIDs.includes(k.keyId))));
    if (!key) throw new Error('this authenticator holds no key the server asks for');
    const spec = ALGS[key.alg];
    const transaction = request.transaction?.find((t) => t.contentType === 'text/plain');
    let mode = this.options.userVerification === false ? 0x00 : 0x01;
    let tcHash = Buffer.alloc(0);
    if (request.transaction) {
      if (!transaction || !this.options.confirm) throw new Error('this authenticator can show text transactions only, and needs a confirm function');
      const content = Buffer.from(transaction.content, 'base64url');
      if (!(await this.options.confirm(content.toString('utf8')))) throw new Error('the person did not confirm the transaction');
      mode = 0x02;
      tcHash = createHash(spec.tcHash).update(content).digest();
    }
    const { fcParams, hash } = this.finalChallenge(request.header, request.challenge);
    key.signCounter += 1;
    const signedData = tlv(TAG.SIGNED_DATA,
      tlv(TAG.AAID, Buffer.from(key.aaid, 'latin1')),
      tlv(TAG.ASSERTION_INFO, u16(1), Buffer.of(mode), u16(spec.code)),
      tlv(TAG.AUTHENTICATOR_NONCE, randomBytes(16)),
      tlv(TAG.FINAL_CHALLENGE_HASH, hash),
      tlv(TAG.TRANSACTION_CONTENT_HASH, tcHash),
      tlv(TAG.KEYID, Buffer.from(key.keyId, 'base64url')),
      tlv(TAG.COUNTERS, u32(key.signCounter)));
    const privateKey = createPrivateKey({ key: Buffer.from(key.privateKeyPkcs8, 'base64url'), format: 'der', type: 'pkcs8' });
    const assertion = tlv(TAG.AUTH_ASSERTION, signedData, tlv(TAG.SIGNATURE, spec.sign(privateKey, signedData)));
    return [{ header: request.header, fcParams, assertions: [{ assertionScheme: 'UAFV1TLV', assertion: assertion.toString('base64url') }] }];
  }

  /** Forgets the keys a DeregistrationRequest names (empty aaid/keyID: all of them). */
  deregister(message: unknown): void {
    const request = pick(message, 'Dereg') as unknown as { authenticators: Array<{ aaid: string; keyID: string }> };
    this.keys = this.keys.filter((k) => !request.authenticators.some((a) => (a.aaid === '' || a.aaid === k.aaid) && (a.keyID === '' || a.keyID === k.keyId)));
  }

  private finalChallenge(header: Header, challenge: string) {
    const params = { appID: header.appID ?? this.options.facetId, challenge, facetID: this.options.facetId, channelBinding: {} };
    const fcParams = Buffer.from(JSON.stringify(params)).toString('base64url');
    return { fcParams, hash: createHash('sha256').update(fcParams).digest() };
  }
}

interface Header { upv: { major: number; minor: number }; op: string; appID?: string; serverData?: string }

function pick(message: unknown, op: string): { header: Header } {
  const list = (typeof message === 'string' ? JSON.parse(message) : message) as Array<{ header: Header }>;
  const found = Array.isArray(list) ? list.find((m) => m.header?.op === op && m.header.upv?.major === 1) : undefined;
  if (!found) throw new Error(`no UAF 1.x ${op} request in the message`);
  return found;
}

