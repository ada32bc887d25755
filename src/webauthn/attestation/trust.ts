import { X509Certificate } from 'node:crypto';
import type { ChainCertificate } from './certificates.js';

/** Where a trust anchor came from: the FIDO metadata statement of the AAGUID, a platform vendor's published roots, or the tenant. */
export type AnchorSource = 'mds' | 'vendor' | 'tenant';

export interface TrustAnchor {
  certificate: X509Certificate;
  source: AnchorSource;
}

export interface AnchorDescription {
  source: AnchorSource;
  /** The root's subject, one "key=value" per attribute, comma-separated. */
  subject: string;
  /** SHA-256 of the root certificate, colon-separated hex (as node:crypto and openssl print it). */
  fingerprint: string;
}

export interface TrustResult {
  /** Whether the chain reached one of the trust anchors, every certificate valid at the verification time. */
  verified: boolean;
  /** The anchor the chain reached (also when a certificate on the way was out of its validity period). */
  root?: AnchorDescription;
  /** Why the attestation is not verified, for people reading logs and the account page. */
  reason?: string;
}

/**
 * Follows an attestation chain to a trust anchor: each certificate issued and signed by the next,
 * issuers marked CA, the last one an anchor or issued by one, all valid at `now`. An anchor may
 * also be an intermediate the chain carries (metadata statements sometimes list those).
 */
export function anchorChain(chain: ChainCertificate[], anchors: TrustAnchor[], now: Date): TrustResult {
  if (anchors.length === 0) return { verified: false, reason: 'no trust anchor is known for this authenticator' };
  const certs = chain.map((c) => c.x509);
  for (let i = 0; i + 1 < certs.length; i += 1) {
    if (!issuedBy(certs[i], certs[i + 1])) return { verified: false, reason: 'the attestation certificate chain is broken' };
  }
  let path: X509Certificate[] | undefined;
  let anchor: TrustAnchor | undefined;
  for (let i = 0; i < certs.length && !anchor; i += 1) {
    anchor = anchors.find((a) => a.certificate.fingerprint256 === certs[i].fingerprint256);
    if (anchor) path = certs.slice(0, i + 1);
  }
  if (!anchor) {
    const last = certs[certs.length - 1];
    anchor = anchors.find((a) => issuedBy(last, a.certificate));
    path = anchor ? [...certs, anchor.certificate] : undefined;
  }
  if (!anchor || !path) return { verified: false, reason: 'the attestation certificate chain does not lead to a trusted root' };
  const described: AnchorDescription = { source: anchor.source, subject: subjectOf(anchor.certificate), fingerprint: anchor.certificate.fingerprint256 };
  const outOfDate = path.find((c) => new Date(c.validFrom) > now || new Date(c.validTo) < now);
  if (outOfDate) {
    return { verified: false, root: described, reason: `the certificate "${subjectOf(outOfDate)}" is not valid on ${now.toISOString()} (valid ${outOfDate.validFrom} to ${outOfDate.validTo})` };
  }
  return { verified: true, root: described };
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && issuer.ca && cert.verify(issuer.publicKey);
}

export function subjectOf(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}
