import { z } from 'zod';

/**
 * The parts of an MDS3 BLOB payload Sesame relies on (FIDO Metadata Service v3 §3.1.6–3.1.7); every
 * other field is kept as it came, for whoever needs the rest of a metadata statement later.
 */
const statusReport = z.object({
  status: z.string(),
  effectiveDate: z.string().optional(),
  authenticatorVersion: z.number().optional(),
  url: z.string().optional(),
  certificationDescriptor: z.string().optional(),
}).passthrough();

const entry = z.object({
  aaguid: z.string().optional(),
  aaid: z.string().optional(),
  attestationCertificateKeyIdentifiers: z.array(z.string()).optional(),
  metadataStatement: z.object({ description: z.string().optional(), icon: z.string().optional() }).passthrough().optional(),
  statusReports: z.array(statusReport),
  timeOfLastStatusChange: z.string().optional(),
}).passthrough();

const payload = z.object({
  legalHeader: z.string().optional(),
  no: z.number().int().nonnegative(),
  nextUpdate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'nextUpdate is not a YYYY-MM-DD date'),
  entries: z.array(entry),
}).passthrough();

export type BlobPayload = z.infer<typeof payload>;
export type BlobEntry = z.infer<typeof entry>;
export type StatusReport = z.infer<typeof statusReport>;

export function parseBlobPayload(value: unknown): BlobPayload {
  const result = payload.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || 'payload'}: ${issue.message}`);
  }
  return result.data;
}

/** A BLOB is stale once the day of its nextUpdate (UTC) is over: by then a newer one should have been published. */
export function isStale(nextUpdate: string, now: Date): boolean {
  return now.getTime() >= Date.parse(`${nextUpdate}T00:00:00Z`) + 86_400_000;
}
