import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, BasicConstraints, Certificate, Extension, Extensions, GeneralName, id_ce_basicConstraints,
  id_ce_subjectAltName, Name, RelativeDistinguishedName, SubjectAlternativeName, SubjectPublicKeyInfo, TBSCertificate, Validity,
} from '@peculiar/asn1-x509';

/**
 * X.509 certificates for attestation (and https) tests, made with the ASN.1 library the server reads them
 * with and signed with node:crypto (ECDSA P-256, SHA-256). Unlike the openssl CLI, any validity
 * period can be given, so a chain can be expired "at the clock" on purpose.
 */
export interface TestCertificate {
  der: Buffer;
  pem: string;
  x509: X509Certificate;
  privateKey: KeyObject;
  /** The private key as PKCS#8 PEM, for an https server. */
  keyPem: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const NAME_OIDS: Record<string, string> = { C: '2.5.4.6', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };
const DAY = 86_400_000;

/** The DER value of a subjectAltName extension naming these DNS names (for https test servers). */
export function dnsNames(...names: string[]): { oid: string; value: Uint8Array } {
  return { oid: id_ce_subjectAltName, value: new Uint8Array(AsnConvert.serialize(new SubjectAlternativeName(names.map((dNSName) => new GeneralName({ dNSName }))))) };
}

export interface CertificateOptions {
  /** e.g. { C: 'DE', O: 'Acme', OU: 'Authenticator Attestation', CN: 'Acme Key' } */
  subject: Record<string, string>;
  /** Signed by this certificate's key (its subject is the issuer); self-signed when absent. */
  issuer?: TestCertificate;
  ca: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** More extensions (DER values), e.g. the FIDO AAGUID extension. */
  extensions?: Array<{ oid: string; critical?: boolean; value: Uint8Array }>;
}

export function makeCertificate(options: CertificateOptions): TestCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuerName = options.issuer ? AsnConvert.parse(options.issuer.der, Certificate).tbsCertificate.subject : nameOf(options.subject);
  const extensions = [
    new Extension({ extnID: id_ce_basicConstraints, critical: true, extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: options.ca }))) }),
    ...(options.extensions ?? []).map((e) => new Extension({ extnID: e.oid, critical: e.critical ?? false, extnValue: new OctetString(e.value) })),
  ];
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive and minimal in DER (a leading zero byte would not be)
  const tbs = new TBSCertificate({
    version: 2,
    serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.length),
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    issuer: issuerName,
    validity: new Validity({ notBefore: options.notBefore ?? new Date(Date.now() - DAY), notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY) }),
    subject: nameOf(options.subject),
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    extensions: new Extensions(extensions),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), options.issuer?.privateKey ?? privateKey);
  const der = Buffer.from(AsnConvert.serialize(new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.length),
  })));
  const x509 = new X509Certificate(der);
  return { der, pem: x509.toString(), x509, privateKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A root CA and an attestation certificate under it, as a security key maker has them. */
export function attestationChain(maker: string, validity: { notBefore?: Date; notAfter?: Date } = {}): { root: TestCertificate; leaf: TestCertificate } {
  const root = makeCertificate({ subject: { C: 'DE', O: maker, CN: `${maker} Attestation Root` }, ca: true });
  const leaf = makeCertificate({
    subject: { C: 'DE', O: maker, OU: 'Authenticator Attestation', CN: `${maker} Security Key` }, issuer: root, ca: false, ...validity,
  });
  return { root, leaf };
}

function nameOf(parts: Record<string, string>): Name {
  return new Name(Object.entries(parts).map(([key, value]) => new RelativeDistinguishedName([
    new AttributeTypeAndValue({ type: NAME_OIDS[key]!, value: new AttributeValue(key === 'C' ? { printableString: value } : { utf8String: value }) }),
  ])));
}
