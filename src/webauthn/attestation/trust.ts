import { X509Certificate } from 'node:crypto';
import type { ChainCertificate } from './certificates.js';

export interface TrustResult {
  /** Whether the chain reached one of the trust anchors, every certificate valid at the verification time. */
  verified: boolean;
  /** The anchor the chain reached (also when a certificate on the way was out of its validity period). */
  root?: { subject: string; fingerprint: string };
  /** Why the attestation is not verified, for people reading logs and the account page. */
  reason?: string;
}

/**
 * Follows an attestation chain to a trust anchor: each certificate issued and signed by the next,
 * issuers marked CA, the last one an anchor or issued by one, all valid at `now`. An anchor may
 * also be an intermediate the chain carries (metadata statements sometimes list those).
 */
export function anchorChain(chain: ChainCertificate[], anchors: X509Certificate[], now: Date): TrustResult {
  if (anchors.length === 0) return { verified: false, reason: 'no trust anchor is known for this authenticator' };
  const certs = chain.map((c) => c.x509);
  for (let i = 0; i + 1 < certs.length; i += 1) {
    if (!issuedBy(certs[i], certs[i + 1])) return { verified: false, reason: 'the attestation certificate chain is broken' };
  }
  let path: X509Certificate[] | undefined;
  let root: X509Certificate | undefined;
  for (let i = 0; i < certs.length && !root; i += 1) {
    root = anchors.find((a) => a.fingerprint256 === certs[i].fingerprint256);
    if (root) path = certs.slice(0, i + 1);
  }
  if (!root) {
    const last = certs[certs.length - 1];
    root = anchors.find((a) => issuedBy(last, a));
    path = root ? [...certs, root] : undefined;
  }
  if (!root || !path) return { verified: false, reason: 'the attestation certificate chain does not lead to a trusted root' };
  const described = { subject: root.subject.replace(/\n/g, ', '), fingerprint: root.fingerprint256 };
  const outOfDate = path.find((c) => new Date(c.validFrom) > now || new Date(c.validTo) < now);
  if (outOfDate) {
    return { verified: false, root: described, reason: `the certificate "${outOfDate.subject.replace(/\n/g, ', ')}" is not valid on ${now.toISOString()} (valid ${outOfDate.validFrom} to ${outOfDate.validTo})` };
  }
  return { verified: true, root: described };
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && issuer.ca && cert.verify(issuer.publicKey);
}
