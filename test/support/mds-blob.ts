import { sign } from 'node:crypto';
import { makeCertificate } from './attestation-certificates.js';

/**
 * A FIDO metadata BLOB signer of a test's own: a root (given to `metadata.load` as an extra root, as
 * `sesame mds load --root` does for conformance BLOBs) and an ES256 signing certificate under it.
 */
export function testBlobSigner(): { rootPem: string; sign(payload: object): string } {
  const root = makeCertificate({ subject: { CN: 'Sesame Test MDS Root' }, ca: true });
  const signer = makeCertificate({ subject: { CN: 'mds.sesame.test' }, issuer: root, ca: false });
  return {
    rootPem: root.pem,
    sign(payload) {
      const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [signer.der.toString('base64')] })).toString('base64url');
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
      const signature = sign('sha256', Buffer.from(`${header}.${body}`), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      return `${header}.${body}.${signature}`;
    },
  };
}

/** A BLOB payload with one entry per given statement (certified at `level`), next update in 30 days. */
export function blobPayload(no: number, entries: Array<{ aaguid: string; statement: Record<string, unknown>; level?: string }>) {
  return {
    legalHeader: 'Sesame test BLOB',
    no,
    nextUpdate: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
    entries: entries.map((e) => ({
      aaguid: e.aaguid,
      metadataStatement: { aaguid: e.aaguid, ...e.statement },
      statusReports: [{ status: `FIDO_CERTIFIED_${e.level ?? 'L1'}`, effectiveDate: '2024-06-01' }],
      timeOfLastStatusChange: '2024-06-01',
    })),
  };
}
