import { verify, X509Certificate, constants } from 'node:crypto';
import { badRequest, type SesameError } from '../../errors.js';
import { parseBlobPayload, type BlobPayload } from './blob-payload.js';
import type { PinnedRoot } from './fido-roots.js';

/** The host the FIDO Alliance signs its BLOB as; a certificate of any other GlobalSign customer is not enough. */
export const FIDO_MDS_SIGNER_HOST = 'mds.fidoalliance.org';

export interface BlobTrust {
  /** The pinned FIDO roots (fido-roots.ts): the signing certificate must be for FIDO_MDS_SIGNER_HOST. */
  fidoRoots: readonly PinnedRoot[];
  /** Roots of test and conformance BLOBs (`sesame mds load --root`): any signer they issued is accepted. */
  extraRootsPem?: readonly string[];
}

export const refused = (reason: string, code = 'mds_blob_refused'): SesameError => badRequest(`The metadata BLOB was refused: ${reason}`, code);

/**
 * Verifies a FIDO MDS3 BLOB (a JWS in compact form, FIDO Metadata Service v3 §3.1.8): every x5c
 * certificate valid at `now`, each issued by the next one, the last issued by (or being) a trusted
 * root, and the JWS signed by the first. Revocation lists are not fetched: the BLOB is loaded where
 * the network may only reach the MDS itself, and a soft-failing check (what SimpleWebAuthn does
 * offline) would only pretend. Throws a 400 SesameError `mds_blob_refused` that says what failed.
 */
export function verifyBlob(jwt: string, trust: BlobTrust, now: Date): BlobPayload {
  const parts = jwt.trim().split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) refusedWith('it is not a JWS in compact form (three base64url parts).');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseJson(encodedHeader, 'header') as { alg?: unknown; x5c?: unknown };
  if (!Array.isArray(header.x5c) || header.x5c.length === 0 || !header.x5c.every((c) => typeof c === 'string')) {
    refusedWith('its header has no x5c certificate chain.');
  }
  const chain = (header.x5c as string[]).map((der, i) => {
    try {
      return new X509Certificate(Buffer.from(der, 'base64'));
    } catch {
      return refusedWith(`certificate ${i + 1} of its x5c chain cannot be read.`);
    }
  });
  checkChain(chain, trust, now);
  checkSignature(header.alg, chain[0]!, Buffer.from(`${encodedHeader}.${encodedPayload}`), Buffer.from(encodedSignature, 'base64url'));
  try {
    return parseBlobPayload(parseJson(encodedPayload, 'payload'));
  } catch (error) {
    return refusedWith(`its payload is not an MDS3 payload (${(error as Error).message}).`);
  }
}

function checkChain(chain: X509Certificate[], trust: BlobTrust, now: Date): void {
  const fido = trust.fidoRoots.map((root) => ({ cert: new X509Certificate(root.pem), fido: true }));
  const extra = (trust.extraRootsPem ?? []).map((pem) => ({ cert: new X509Certificate(pem), fido: false }));
  const roots = [...fido, ...extra];
  for (const [i, cert] of chain.entries()) {
    checkValidity(cert, now, `certificate ${i + 1} of its chain (${commonName(cert)})`);
    // A pinned root may sit in x5c itself, or issue the current certificate; a cross-signed copy of
    // it further up the chain is then never needed (cross-signed paths trip up stricter validators).
    const anchor = roots.find((root) => root.cert.fingerprint256 === cert.fingerprint256)
      ?? roots.find((root) => cert.checkIssued(root.cert) && cert.verify(root.cert.publicKey));
    if (anchor) {
      checkValidity(anchor.cert, now, `its root (${commonName(anchor.cert)})`);
      if (anchor.fido && !chain[0]!.checkHost(FIDO_MDS_SIGNER_HOST, { subject: 'default' })) {
        refusedWith(`it is signed by ${commonName(chain[0]!)}, not by ${FIDO_MDS_SIGNER_HOST}.`);
      }
      return;
    }
    const issuer = chain[i + 1];
    if (!issuer) refusedWith(`its certificate chain does not lead to a trusted root (it ends at ${commonName(cert)}, issued by ${attribute(cert.issuer, 'CN') ?? cert.issuer}).`);
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) refusedWith(`certificate ${i + 1} of its chain was not issued by certificate ${i + 2}.`);
    if (!issuer.ca) refusedWith(`certificate ${i + 2} of its chain (${commonName(issuer)}) is not a certificate authority.`);
  }
}

function checkValidity(cert: X509Certificate, now: Date, what: string): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) refusedWith(`${what} is not valid before ${from.toISOString()}.`);
  if (now > to) refusedWith(`${what} expired on ${to.toISOString()}.`);
}

/**
 * RS256 is what the FIDO MDS signs with. ES256 signatures are accepted in both forms: JWS's raw
 * r||s (64 bytes, RFC 7518 §3.4) and ASN.1 DER, which the MDS3 specification's own example BLOB
 * uses; JOSE libraries reject the latter, hence node:crypto, told which form it is by the length.
 */
function checkSignature(alg: unknown, signer: X509Certificate, signingInput: Buffer, signature: Buffer): void {
  const key = signer.publicKey;
  let valid: boolean;
  if (alg === 'RS256') {
    if (key.asymmetricKeyType !== 'rsa') refusedWith('its header says RS256 but the signing certificate has no RSA key.');
    valid = verify('sha256', signingInput, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } else if (alg === 'ES256') {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') refusedWith('its header says ES256 but the signing certificate has no P-256 key.');
    valid = verify('sha256', signingInput, { key, dsaEncoding: signature.length === 64 ? 'ieee-p1363' : 'der' }, signature);
  } else {
    return refusedWith(`its signature algorithm ${JSON.stringify(alg)} is not supported (RS256 or ES256).`);
  }
  if (!valid) refusedWith('its signature does not match its contents (it was changed, or not signed by its certificate).');
}

function parseJson(encoded: string, part: string): unknown {
  try {
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return refusedWith(`its ${part} is not JSON.`);
  }
}

function commonName(cert: X509Certificate): string {
  return attribute(cert.subject, 'CN') ?? cert.subject.replace(/\n/g, ', ');
}

function attribute(name: string, key: string): string | undefined {
  return name.split('\n').find((line) => line.startsWith(`${key}=`))?.slice(key.length + 1);
}

function refusedWith(reason: string): never {
  throw refused(reason);
}
