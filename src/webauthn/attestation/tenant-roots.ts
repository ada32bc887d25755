import { X509Certificate } from 'node:crypto';
import { badRequest } from '../../errors.js';
import { subjectOf } from './trust.js';

/** A root a tenant trusts for attestation chains, as checked when it was given. */
export interface AttestationRoot {
  fingerprint: string;
  subject: string;
  pem: string;
  notAfter: number;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads the certificates of a PEM text a tenant wants to trust for attestation (`sesame trust add`):
 * each must be readable, a CA certificate (it anchors chains; an attestation certificate itself
 * is never a root), and valid now. One bad certificate refuses the whole text, with which and why.
 */
export function parseAttestationRoots(text: string, now: Date): AttestationRoot[] {
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw invalidRoot('The file holds no PEM certificate (a block from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----).');
  }
  return blocks.map((block, index) => {
    const which = blocks.length > 1 ? `Certificate ${index + 1} of ${blocks.length}` : 'The certificate';
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (error) {
      throw invalidRoot(`${which} cannot be read as an X.509 certificate (${(error as Error).message}).`);
    }
    const subject = subjectOf(certificate);
    if (!certificate.ca) {
      throw invalidRoot(`${which} ("${subject}") is not a CA certificate (its basic constraints do not say CA:TRUE). `
        + 'Give the root (or intermediate) certificate your authenticators\' attestation certificates chain to, not an attestation certificate.');
    }
    const notAfter = new Date(certificate.validTo);
    if (notAfter < now) throw invalidRoot(`${which} ("${subject}") expired on ${notAfter.toISOString()}; a chain cannot be verified to it.`);
    const notBefore = new Date(certificate.validFrom);
    if (notBefore > now) throw invalidRoot(`${which} ("${subject}") is not valid until ${notBefore.toISOString()}.`);
    return { fingerprint: certificate.fingerprint256, subject, pem: certificate.toString(), notAfter: notAfter.getTime() };
  });
}

function invalidRoot(message: string) {
  return badRequest(message, 'invalid_attestation_root');
}
