import { createHash } from 'node:crypto';
import { AsnParser } from '@peculiar/asn1-schema';
import { ExtendedKeyUsage, id_ce_extKeyUsage, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { checkAaguidExtension, extensionValue, isCertificateAuthority, isVersion3, parseChain, type ChainCertificate } from './certificates.js';
import { COSE_ALGORITHMS, decodeCoseKey, verifyWithAlgorithm } from './cose-key.js';
import { algField, bytesField, concat, type StatementInput, type VerifiedStatement } from './statement.js';

const TPM_GENERATED_VALUE = 0xff544347;
const TPM_ST_ATTEST_CERTIFY = 0x8017;
const TPM_ALG = { RSA: 0x0001, ECC: 0x0023 } as const;
const NAME_HASHES: Record<number, string> = { 0x0004: 'sha1', 0x000b: 'sha256', 0x000c: 'sha384', 0x000d: 'sha512' };
const TPM_CURVES: Record<number, number> = { 0x0003: 1, 0x0004: 2, 0x0005: 3 }; // TPM_ECC_NIST_P256/384/521 → COSE crv
const TCG_KP_AIK_CERTIFICATE = '2.23.133.8.3';
const TPM_MANUFACTURER = '2.23.133.2.1';

/** WebAuthn §8.3 TPM attestation (TPM 2.0 certify structures signed by an attestation identity key). */
export function verifyTpm(input: StatementInput): VerifiedStatement {
  const { attStmt } = input;
  if (attStmt.get('ver') !== '2.0') throw new Error('the tpm attestation statement is not version 2.0');
  const alg = algField(attStmt, 'tpm');
  const pubArea = bytesField(attStmt, 'pubArea', 'tpm');
  const certInfo = bytesField(attStmt, 'certInfo', 'tpm');
  checkPubArea(new Reader(pubArea), input.credentialPublicKey);

  const info = new Reader(certInfo);
  if (info.u32() !== TPM_GENERATED_VALUE) throw new Error('the tpm certInfo magic is not TPM_GENERATED_VALUE');
  if (info.u16() !== TPM_ST_ATTEST_CERTIFY) throw new Error('the tpm certInfo type is not TPM_ST_ATTEST_CERTIFY');
  info.sized(); // qualifiedSigner
  const extraData = info.sized();
  info.take(17 + 8); // clockInfo, firmwareVersion
  const name = info.sized();
  info.sized(); // qualifiedName

  const hash = COSE_ALGORITHMS[alg]?.hash;
  if (!hash) throw new Error(`the tpm attestation uses an unsupported algorithm (${alg})`);
  const signed = concat(input.authData, input.clientDataHash);
  if (!Buffer.from(extraData).equals(createHash(hash).update(signed).digest())) throw new Error('the tpm certInfo extraData does not match this registration');
  const nameAlg = (name[0] << 8) | name[1];
  const nameHash = NAME_HASHES[nameAlg];
  if (!nameHash || !Buffer.from(name.subarray(2)).equals(createHash(nameHash).update(pubArea).digest())) {
    throw new Error('the tpm certInfo does not name the attested pubArea');
  }
  const chain = parseChain(attStmt.get('x5c'), 'tpm');
  if (!verifyWithAlgorithm(alg, chain[0].x509.publicKey, certInfo, bytesField(attStmt, 'sig', 'tpm'))) {
    throw new Error('the tpm attestation signature does not verify with its attestation certificate');
  }
  checkAikCertificate(chain[0]);
  checkAaguidExtension(chain[0], input.aaguid, 'tpm');
  return { type: 'attca', chain };
}

/** The key in pubArea must be the credential public key. */
function checkPubArea(area: Reader, credentialPublicKey: Uint8Array): void {
  const key = decodeCoseKey(credentialPublicKey);
  const type = area.u16();
  area.u16(); // nameAlg
  area.u32(); // objectAttributes
  area.sized(); // authPolicy
  const same = (a: unknown, b: Uint8Array) => a instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  if (type === TPM_ALG.RSA) {
    area.take(6); // symmetric, scheme, keyBits
    const exponent = area.u32() || 65537;
    const modulus = area.sized();
    const e = key.get(-2);
    const eValue = e instanceof Uint8Array ? Number(BigInt(`0x${Buffer.from(e).toString('hex') || '0'}`)) : -1;
    if (key.get(1) !== 3 || !same(key.get(-1), modulus) || eValue !== exponent) throw new Error('the tpm pubArea does not hold the credential public key');
  } else if (type === TPM_ALG.ECC) {
    area.take(4); // symmetric, scheme
    const curve = TPM_CURVES[area.u16()];
    area.u16(); // kdf
    const x = area.sized();
    const y = area.sized();
    if (key.get(1) !== 2 || key.get(-1) !== curve || !same(key.get(-2), x) || !same(key.get(-3), y)) throw new Error('the tpm pubArea does not hold the credential public key');
  } else {
    throw new Error(`the tpm pubArea key type (${type}) is not RSA or ECC`);
  }
}

/** §8.3.1 TPM Attestation Statement Certificate Requirements. */
function checkAikCertificate(aik: ChainCertificate): void {
  if (!isVersion3(aik)) throw new Error('the tpm attestation certificate is not an X.509 version 3 certificate');
  if (aik.asn.tbsCertificate.subject.length !== 0) throw new Error('the tpm attestation certificate subject is not empty');
  const san = extensionValue(aik, id_ce_subjectAltName);
  const names = san ? AsnParser.parse(san, SubjectAlternativeName) : [];
  const attributes = names.flatMap((n) => n.directoryName?.flatMap((rdn) => rdn.map((a) => a.type)) ?? []);
  if (!attributes.includes(TPM_MANUFACTURER)) throw new Error('the tpm attestation certificate names no TPM manufacturer');
  const eku = extensionValue(aik, id_ce_extKeyUsage);
  if (!eku || !AsnParser.parse(eku, ExtendedKeyUsage).includes(TCG_KP_AIK_CERTIFICATE)) {
    throw new Error('the tpm attestation certificate is not for AIK certification (tcg-kp-AIKCertificate)');
  }
  if (isCertificateAuthority(aik)) throw new Error('the tpm attestation certificate is a CA certificate');
}

/** Big-endian reader of TPM structures; reading past the end is a malformed statement. */
class Reader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new Error('a tpm attestation structure is truncated');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u16(): number { const b = this.take(2); return (b[0] << 8) | b[1]; }
  u32(): number { const b = this.take(4); return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0; }
  sized(): Uint8Array { return this.take(this.u16()); }
}
