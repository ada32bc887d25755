import { X509Certificate } from 'node:crypto';
import { AsnParser } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, id_ce_basicConstraints } from '@peculiar/asn1-x509';
import { coseToKeyObject } from './cose-key.js';

/** One certificate of an attestation chain: node:crypto for keys, dates and signatures; the ASN.1 for extensions. */
export interface ChainCertificate {
  x509: X509Certificate;
  asn: Certificate;
}

/** id-fido-gen-ce-aaguid (FIDO Authenticator Attestation, WebAuthn §8.2.1). */
const FIDO_AAGUID_OID = '1.3.6.1.4.1.45724.1.1.4';

export function parseChain(x5c: unknown, format: string): ChainCertificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => c instanceof Uint8Array)) {
    throw new Error(`the ${format} attestation statement has no certificate chain (x5c)`);
  }
  return x5c.map((der: Uint8Array) => parseCertificate(der, format));
}

export function parseCertificate(der: Uint8Array, format: string): ChainCertificate {
  try {
    return { x509: new X509Certificate(der), asn: AsnParser.parse(der, Certificate) };
  } catch {
    throw new Error(`a certificate of the ${format} attestation statement cannot be read`);
  }
}

export function extensionValue(cert: ChainCertificate, oid: string): Uint8Array | undefined {
  const found = cert.asn.tbsCertificate.extensions?.find((e) => e.extnID === oid);
  return found ? new Uint8Array(found.extnValue.buffer) : undefined;
}

export function isCertificateAuthority(cert: ChainCertificate): boolean {
  const value = extensionValue(cert, id_ce_basicConstraints);
  return value ? AsnParser.parse(value, BasicConstraints).cA : false;
}

export function isVersion3(cert: ChainCertificate): boolean {
  return cert.asn.tbsCertificate.version === 2;
}

/**
 * WebAuthn §8.2.1 / §8.3.1: when the attestation certificate carries the FIDO AAGUID extension, it
 * must not be critical and must name the AAGUID in the authenticator data.
 */
export function checkAaguidExtension(cert: ChainCertificate, aaguid: Uint8Array, format: string): void {
  const found = cert.asn.tbsCertificate.extensions?.find((e) => e.extnID === FIDO_AAGUID_OID);
  if (!found) return;
  const value = new Uint8Array(found.extnValue.buffer);
  // The extension's value is itself a DER OCTET STRING of 16 bytes: 04 10 <aaguid>.
  const matches = value.length === 18 && value[0] === 0x04 && value[1] === 0x10 && Buffer.from(value.subarray(2)).equals(Buffer.from(aaguid));
  if (found.critical) throw new Error(`the ${format} attestation certificate marks its AAGUID extension critical`);
  if (!matches) throw new Error(`the ${format} attestation certificate's AAGUID extension does not match the authenticator's AAGUID`);
}

/** Whether a certificate holds the credential public key itself (android-key, apple). */
export function certifiesCredentialKey(cert: ChainCertificate, credentialPublicKey: Uint8Array): boolean {
  const spki = (key: ReturnType<typeof coseToKeyObject>) => key.export({ type: 'spki', format: 'der' });
  return spki(coseToKeyObject(credentialPublicKey)).equals(spki(cert.x509.publicKey));
}
