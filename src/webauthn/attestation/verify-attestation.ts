import { createHash, X509Certificate } from 'node:crypto';
import { SettingsService } from '@simplewebauthn/server';
import { verifyAndroidKey } from './android-key.js';
import { verifyAndroidSafetyNet } from './android-safetynet.js';
import { verifyApple } from './apple.js';
import { verifyFidoU2f } from './fido-u2f.js';
import { verifyPacked } from './packed.js';
import { verifyTpm } from './tpm.js';
import { anchorChain, type TrustAnchor, type TrustResult } from './trust.js';
import type { AttestationType, StatementInput, VerifiedStatement } from './statement.js';
import type { AuthenticatorMetadata } from '../metadata/authenticator-status.js';

const FORMATS: Record<string, (input: StatementInput) => VerifiedStatement> = {
  packed: verifyPacked,
  tpm: verifyTpm,
  'android-key': verifyAndroidKey,
  'android-safetynet': verifyAndroidSafetyNet,
  'fido-u2f': verifyFidoU2f,
  apple: verifyApple,
};

/**
 * Roots the platform vendors publish for their own formats (Apple WebAuthn Root CA, Google
 * Hardware Attestation Roots, GlobalSign for SafetyNet), as @simplewebauthn/server ships them.
 */
const VENDOR_ROOTS = ['apple', 'android-key', 'android-safetynet'] as const;

export interface AttestationOptions {
  /** The statement from the FIDO Metadata Service for the AAGUID, if any. */
  metadata?: AuthenticatorMetadata;
  /** Extra roots (PEM) the tenant trusts, e.g. its company's security key vendor. */
  tenantRootsPem?: readonly string[];
  /** The verification clock for certificate dates and freshness; the wall clock by default. */
  now?: Date;
  /** Refuse SafetyNet attestations of devices failing Android's compatibility profile (default true). */
  safetyNetRequireCtsProfile?: boolean;
}

/** The facts a policy decides on: the statement verified; whether its chain reached a root, and which. */
export interface AttestationResult {
  format: string;
  type: AttestationType;
  trust: TrustResult;
  /** MDS3 facts about the AAGUID, recorded with the credential. */
  certificationLevel?: string;
  authenticatorName?: string;
  authenticatorIcon?: string;
}

export interface AttestationInput {
  fmt: string;
  attStmt: Map<string, unknown>;
  authData: Uint8Array;
  clientDataJSON: Uint8Array;
  rpIdHash: Uint8Array;
  credentialId: Uint8Array;
  credentialPublicKey: Uint8Array;
  aaguid: Uint8Array;
}

/**
 * Verifies an attestation statement (WebAuthn §7.1 steps 19–21): the signature is always checked
 * and a bad one throws. Trust (step 22) is a fact in the result, not a refusal: an unknown root or
 * an expired certificate leaves `trust.verified` false, and the tenant's policy decides.
 */
export function verifyAttestation(input: AttestationInput, options: AttestationOptions = {}): AttestationResult {
  const now = options.now ?? new Date();
  const described = {
    format: input.fmt,
    certificationLevel: options.metadata?.certification,
    authenticatorName: options.metadata?.description,
    authenticatorIcon: options.metadata?.icon,
  };
  if (input.fmt === 'none') {
    if (input.attStmt.size > 0) throw new Error('the none attestation statement is not empty');
    return { ...described, type: 'none', trust: { verified: false, reason: 'the authenticator gave no attestation' } };
  }
  const verify = FORMATS[input.fmt];
  if (!verify) throw new Error(`the attestation format "${input.fmt}" is not supported`);
  const statement = verify({
    attStmt: input.attStmt,
    authData: input.authData,
    clientDataHash: createHash('sha256').update(input.clientDataJSON).digest(),
    rpIdHash: input.rpIdHash,
    credentialId: input.credentialId,
    credentialPublicKey: input.credentialPublicKey,
    aaguid: input.aaguid,
    now,
    safetyNetRequireCtsProfile: options.safetyNetRequireCtsProfile ?? true,
  });
  if (statement.type === 'self') {
    return { ...described, type: 'self', trust: { verified: false, reason: 'the authenticator attested its key with the key itself' } };
  }
  const trust = anchorChain(statement.chain, anchorsFor(input.fmt, options), now);
  if (trust.verified && statement.stale) return { ...described, type: statement.type, trust: { verified: false, root: trust.root, reason: statement.stale } };
  return { ...described, type: statement.type, trust };
}

/**
 * The anchors a chain of this format may reach, each with where it came from: the FIDO metadata
 * statement of the AAGUID first (the most specific), then the platform vendor's roots, then the
 * tenant's own (`sesame trust add`).
 */
function anchorsFor(fmt: string, options: AttestationOptions): TrustAnchor[] {
  const listed = options.metadata?.entry.metadataStatement?.attestationRootCertificates;
  const mdsRoots = Array.isArray(listed) ? listed.filter((r): r is string => typeof r === 'string') : [];
  const vendorRoots = (VENDOR_ROOTS as readonly string[]).includes(fmt) ? SettingsService.getRootCertificates({ identifier: fmt as (typeof VENDOR_ROOTS)[number] }) : [];
  const anchors: TrustAnchor[] = [];
  for (const der of mdsRoots) {
    try {
      anchors.push({ certificate: new X509Certificate(Buffer.from(der, 'base64')), source: 'mds' });
    } catch {
      // A malformed root in a metadata statement anchors nothing; the others still may.
    }
  }
  for (const pem of vendorRoots) anchors.push(...readPem(pem).map((certificate) => ({ certificate, source: 'vendor' as const })));
  for (const pem of options.tenantRootsPem ?? []) anchors.push(...readPem(pem).map((certificate) => ({ certificate, source: 'tenant' as const })));
  return anchors;
}

/** Reads every certificate of a PEM text; one that cannot be read anchors nothing. */
export function readPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => {
    try {
      return [new X509Certificate(block)];
    } catch {
      return [];
    }
  });
}
