import { notFound } from '../errors.js';
import { parseAttestationRoots, type AttestationRoot } from '../webauthn/attestation/tenant-roots.js';
import type { AttestationRootRepository, StoredAttestationRoot } from '../storage/repositories/attestation-roots.js';
import type { TenantService } from './tenant-service.js';

/**
 * Attestation roots a tenant trusts besides the FIDO metadata's and the platform vendors' (for
 * instance its own company's security keys, or a vendor not in the metadata): `sesame trust …`.
 * A chain that reaches one counts as attested, with the root recorded on the passkey.
 */
export class AttestationRootService {
  constructor(private readonly roots: AttestationRootRepository, private readonly tenants: Pick<TenantService, 'requireTenant'>) {}

  /** Checks every certificate of the PEM text (parseAttestationRoots) and adds them; answers them and how many were new. */
  async add(tenantId: string, pemText: string, now = new Date()): Promise<{ roots: AttestationRoot[]; added: number }> {
    await this.tenants.requireTenant(tenantId);
    const roots = parseAttestationRoots(pemText, now);
    return { roots, added: await this.roots.add(tenantId, roots, now.getTime()) };
  }

  async list(tenantId: string): Promise<StoredAttestationRoot[]> {
    await this.tenants.requireTenant(tenantId);
    return this.roots.list(tenantId);
  }

  /** Removes a root by its SHA-256 fingerprint (colons and case as you like), or every root with 'all'. */
  async remove(tenantId: string, fingerprint: string): Promise<number> {
    await this.tenants.requireTenant(tenantId);
    const removed = await this.roots.remove(tenantId, fingerprint === 'all' ? 'all' : normaliseFingerprint(fingerprint));
    if (removed === 0 && fingerprint !== 'all') throw notFound(`Tenant "${tenantId}" trusts no attestation root with fingerprint ${fingerprint}.`, 'unknown_attestation_root');
    return removed;
  }

  /** The PEMs registration verifies chains against. */
  pemsFor(tenantId: string): Promise<string[]> {
    return this.roots.pems(tenantId);
  }
}

/** A SHA-256 fingerprint as node:crypto prints it: upper-case hex pairs joined by colons. */
export function normaliseFingerprint(text: string): string {
  const hex = text.replace(/[:\s]/g, '').toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? hex.match(/../g)!.join(':') : text;
}
