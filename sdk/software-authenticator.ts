import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';

/**
 * A software FIDO2 authenticator: makes real ES256 (or, where Node.js has it, ML-DSA) credentials
 * and signs real assertions, in memory (or from a JSON file via export/import). It is what a phone app or a test uses where
 * there is no platform authenticator. Options and responses use the WebAuthn JSON shapes
 * (PublicKeyCredentialCreationOptionsJSON / RegistrationResponseJSON, ...).
 */

const cbor = { encode: (value: CBORType) => Buffer.from(encodeCBOR(value)) };

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

/** COSE algorithms of the keys it can make; ML-DSA needs a Node.js that has it (24.7 and later). */
export const SOFTWARE_ALGORITHMS = { ES256: -7, 'ML-DSA-44': -48, 'ML-DSA-65': -49, 'ML-DSA-87': -50 } as const;
export type SoftwareAlgorithm = keyof typeof SOFTWARE_ALGORITHMS;

export interface SoftwareAuthenticatorOptions {
  /** Attestation statement format for new credentials: none, or packed (self attestation, or basic with attestationCertificate). */
  attestation?: 'none' | 'packed';
  /**
   * Packed basic attestation: the attestation certificate chain (DER, the attestation certificate
   * first) and the attestation certificate's P-256 private key, as a security key's maker installs them.
   */
  attestationCertificate?: { chain: Uint8Array[]; privateKey: KeyObject };
  /** The algorithm of new credentials' keys (ES256 by default). */
  algorithm?: SoftwareAlgorithm;
  /** AAGUID of this authenticator model (16 bytes, hex with or without dashes). Zeros by default. */
  aaguid?: string;
  /** Report user verification (PIN/biometric) as done. */
  userVerification?: boolean;
  /** Behave like a synced passkey provider (backup eligible and backed up). */
  synced?: boolean;
  /** Keep a signature counter (a device-bound key does); synced passkeys usually report 0. */
  counter?: boolean;
}

export interface StoredSoftwareCredential {
  id: string;
  rpId: string;
  userHandle: string;
  privateKey: KeyObject;
  signCount: number;
  /** A key registered under FIDO U2F: it signs with rpIdHash = SHA-256(appId) when a request's appid extension names it. */
  appId?: string;
}

/** What `toJSON` writes: enough to restore the authenticator, private keys included (keep it private). */
export interface SerializedAuthenticator {
  options: SoftwareAuthenticatorOptions;
  credentials: Array<{ id: string; rpId: string; userHandle: string; privateKeyJwk: JsonWebKey; signCount: number }>;
}

export interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  excludeCredentials?: Array<{ id: string }>;
  [key: string]: unknown;
}

export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
  [key: string]: unknown;
}

export class SoftwareAuthenticator {
  readonly credentials = new Map<string, StoredSoftwareCredential>();
  private readonly options: Required<Omit<SoftwareAuthenticatorOptions, 'attestationCertificate'>>;
  private readonly attestationCertificate: SoftwareAuthenticatorOptions['attestationCertificate'];

  constructor(options: SoftwareAuthenticatorOptions = {}) {
    this.options = {
      attestation: options.attestation ?? 'none',
      aaguid: options.aaguid ?? '00000000000000000000000000000000',
      userVerification: options.userVerification ?? true,
      synced: options.synced ?? false,
      counter: options.counter ?? !options.synced,
      algorithm: options.algorithm ?? 'ES256',
    };
    this.attestationCertificate = options.attestationCertificate;
  }

  /** navigator.credentials.create() */
  createCredential(options: CreationOptionsJSON, origin: string) {
    const rpId = options.rp.id ?? new URL(origin).hostname;
    for (const excluded of options.excludeCredentials ?? []) {
      if (this.credentials.has(excluded.id)) throw new Error('InvalidStateError: a credential in excludeCredentials is on this authenticator');
    }
    const { privateKey, coseKey } = newKey(this.options.algorithm);
    const credentialId = randomBytes(32);
    const credential: StoredSoftwareCredential = {
      id: credentialId.toString('base64url'),
      rpId,
      userHandle: options.user.id,
      privateKey,
      signCount: 0,
    };
    const attestedCredentialData = Buffer.concat([
      Buffer.from(this.options.aaguid.replace(/-/g, ''), 'hex'),
      u16(credentialId.length),
      credentialId,
      coseKey,
    ]);
    const authData = Buffer.concat([this.authDataPrefix(rpId, credential.signCount, FLAG_AT), attestedCredentialData]);
    const clientDataJSON = clientData('webauthn.create', options.challenge, origin);
    const attStmt = new Map<string, CBORType>();
    const signed = Buffer.concat([authData, sha256(clientDataJSON)]);
    if (this.options.attestation === 'packed' && this.attestationCertificate) {
      // Basic attestation: signed with the attestation certificate's key, the chain beside it.
      attStmt.set('alg', -7);
      attStmt.set('sig', new Uint8Array(sign('sha256', signed, this.attestationCertificate.privateKey)));
      attStmt.set('x5c', this.attestationCertificate.chain.map((der) => new Uint8Array(der)));
    } else if (this.options.attestation === 'packed') {
      // Self attestation: signed with the credential's own key, no certificate chain.
      attStmt.set('alg', SOFTWARE_ALGORITHMS[this.options.algorithm]);
      attStmt.set('sig', new Uint8Array(signWith(privateKey, signed)));
    }
    const attestationObject = cbor.encode(new Map<string, CBORType>([
      ['fmt', this.options.attestation],
      ['attStmt', attStmt],
      ['authData', new Uint8Array(authData)],
    ]));
    this.credentials.set(credential.id, credential);
    return publicKeyCredential(credential.id, {
      clientDataJSON: clientDataJSON.toString('base64url'),
      attestationObject: attestationObject.toString('base64url'),
      transports: ['internal'],
    });
  }

  /** navigator.credentials.get(): uses the first allowed credential, or any for this RP (discoverable). */
  getAssertion(options: RequestOptionsJSON, origin: string) {
    const rpId = options.rpId ?? new URL(origin).hostname;
    const allowed = options.allowCredentials?.map((c) => c.id);
    const appid = (options.extensions as { appid?: string } | undefined)?.appid;
    const credential = [...this.credentials.values()].find((c) => (c.rpId === rpId || (appid !== undefined && c.appId === appid))
      && (!allowed?.length || allowed.includes(c.id)));
    if (!credential) throw new Error('NotAllowedError: no credential on this authenticator matches the request');
    const usedAppId = credential.rpId !== rpId;
    if (this.options.counter) credential.signCount += 1;
    const authData = this.authDataPrefix(usedAppId ? appid! : rpId, this.options.counter ? credential.signCount : 0, 0);
    const clientDataJSON = clientData('webauthn.get', options.challenge, origin);
    const signature = signWith(credential.privateKey, Buffer.concat([authData, sha256(clientDataJSON)]));
    return publicKeyCredential(credential.id, {
      clientDataJSON: clientDataJSON.toString('base64url'),
      authenticatorData: authData.toString('base64url'),
      signature: signature.toString('base64url'),
      userHandle: credential.userHandle || undefined, // U2F keys have none
    }, usedAppId ? { appid: true } : {});
  }

  toJSON(): SerializedAuthenticator {
    return {
      options: this.options,
      credentials: [...this.credentials.values()].map((c) => ({
        id: c.id, rpId: c.rpId, userHandle: c.userHandle, signCount: c.signCount, privateKeyJwk: c.privateKey.export({ format: 'jwk' }),
      })),
    };
  }

  static fromJSON(data: SerializedAuthenticator): SoftwareAuthenticator {
    const authenticator = new SoftwareAuthenticator(data.options);
    for (const c of data.credentials) {
      authenticator.credentials.set(c.id, { id: c.id, rpId: c.rpId, userHandle: c.userHandle, signCount: c.signCount, privateKey: createPrivateKey({ key: c.privateKeyJwk, format: 'jwk' }) });
    }
    return authenticator;
  }

  private authDataPrefix(rpId: string, signCount: number, extraFlags: number): Buffer {
    let flags = FLAG_UP | extraFlags;
    if (this.options.userVerification) flags |= FLAG_UV;
    if (this.options.synced) flags |= FLAG_BE | FLAG_BS;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(signCount);
    return Buffer.concat([sha256(Buffer.from(rpId)), Buffer.from([flags]), counter]);
  }
}

/** A new key pair and its COSE public key: EC2 P-256 for ES256, AKP (draft-ietf-cose-dilithium) for ML-DSA. */
function newKey(algorithm: SoftwareAlgorithm): { privateKey: KeyObject; coseKey: Buffer } {
  if (algorithm === 'ES256') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    return {
      privateKey,
      coseKey: cbor.encode(new Map<number, CBORType>([
        [1, 2], [3, -7], [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ])),
    };
  }
  // Node.js 20's types do not know ML-DSA; on a runtime without it this throws, as it should.
  const { privateKey, publicKey } = (generateKeyPairSync as unknown as (type: string) => { publicKey: KeyObject; privateKey: KeyObject })(algorithm.toLowerCase());
  const pub = (publicKey.export({ format: 'jwk' }) as { pub?: string }).pub!;
  return { privateKey, coseKey: cbor.encode(new Map<number, CBORType>([[1, 7], [3, SOFTWARE_ALGORITHMS[algorithm]], [-1, new Uint8Array(Buffer.from(pub, 'base64url'))]])) };
}

/** ES256 signs a SHA-256 digest (DER signature); ML-DSA signs the message itself. */
function signWith(privateKey: KeyObject, data: Buffer): Buffer {
  return privateKey.asymmetricKeyType === 'ec' ? sign('sha256', data, privateKey) : sign(null, data, privateKey);
}

/** The PublicKeyCredential JSON envelope a browser would hand to the page. */
function publicKeyCredential<R>(id: string, response: R, clientExtensionResults: Record<string, unknown> = {}) {
  return {
    id,
    rawId: id,
    type: 'public-key' as const,
    authenticatorAttachment: 'platform' as const,
    clientExtensionResults,
    response,
  };
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
