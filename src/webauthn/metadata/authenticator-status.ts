import type { BlobEntry } from './blob-payload.js';

/**
 * Status reports that say an authenticator model cannot be trusted any more (FIDO Metadata Service
 * v3 §3.1.4). One such report marks the AAGUID for good, even if later reports follow (an update, a
 * new certification): neither the BLOB nor a passkey says which firmware made the passkey.
 */
export const SECURITY_STATUSES = [
  'REVOKED',
  'ATTESTATION_KEY_COMPROMISE',
  'USER_VERIFICATION_BYPASS',
  'USER_KEY_REMOTE_COMPROMISE',
  'USER_KEY_PHYSICAL_COMPROMISE',
] as const;
export type SecurityStatus = (typeof SECURITY_STATUSES)[number];

const CERTIFICATION_STATUSES = new Set([
  'NOT_FIDO_CERTIFIED', 'SELF_ASSERTION_SUBMITTED', 'FIDO_CERTIFIED',
  'FIDO_CERTIFIED_L1', 'FIDO_CERTIFIED_L1plus', 'FIDO_CERTIFIED_L2', 'FIDO_CERTIFIED_L2plus', 'FIDO_CERTIFIED_L3', 'FIDO_CERTIFIED_L3plus',
]);

/** What a person reads about a security status. */
export const SECURITY_STATUS_TEXT: Record<SecurityStatus, string> = {
  REVOKED: 'its certification was revoked',
  ATTESTATION_KEY_COMPROMISE: 'its attestation key was compromised',
  USER_VERIFICATION_BYPASS: 'its PIN or biometric check can be bypassed',
  USER_KEY_REMOTE_COMPROMISE: 'its keys can be extracted remotely',
  USER_KEY_PHYSICAL_COMPROMISE: 'its keys can be extracted by someone holding it',
};

export interface AuthenticatorMetadata {
  aaguid: string;
  /** The metadata statement's description, e.g. "YubiKey 5 Series with NFC". */
  description: string | undefined;
  /** A data: URL of the maker's icon, as the BLOB carries it. */
  icon: string | undefined;
  /** The latest certification status (FIDO_CERTIFIED_L1 … L3plus, NOT_FIDO_CERTIFIED …), by effective date. */
  certification: string | undefined;
  /** The latest security status among the reports, if any (SECURITY_STATUSES). */
  securityStatus: SecurityStatus | undefined;
  timeOfLastStatusChange: string | undefined;
  entry: BlobEntry;
}

export function describeEntry(aaguid: string, entry: BlobEntry): AuthenticatorMetadata {
  // Reports sorted by effective date; equal or missing dates keep the BLOB's order.
  const reports = entry.statusReports.map((report, i) => ({ report, i }))
    .sort((a, b) => (a.report.effectiveDate ?? '').localeCompare(b.report.effectiveDate ?? '') || a.i - b.i)
    .map(({ report }) => report);
  const latest = (keep: (status: string) => boolean) => reports.filter((r) => keep(r.status)).at(-1)?.status;
  return {
    aaguid,
    description: entry.metadataStatement?.description,
    icon: entry.metadataStatement?.icon,
    certification: latest((s) => CERTIFICATION_STATUSES.has(s)),
    securityStatus: latest((s) => (SECURITY_STATUSES as readonly string[]).includes(s)) as SecurityStatus | undefined,
    timeOfLastStatusChange: entry.timeOfLastStatusChange,
    entry,
  };
}

/** AAGUIDs are compared in the form WebAuthn libraries give them: lower-case, with dashes. */
export function normaliseAaguid(aaguid: string): string {
  const hex = aaguid.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(hex) ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` : aaguid.toLowerCase();
}
