import fs from 'node:fs';
import type { Services } from '../services.js';
import { table } from './table.js';

/** `sesame trust add | list | remove`: attestation roots a tenant trusts besides the FIDO metadata's (src/tenants/attestation-roots.ts). */
export class TrustUsageError extends Error {}

export async function runTrustCommand(action: string | undefined, args: string[], flags: Record<string, unknown>, services: Services, out: (line?: string) => void): Promise<void> {
  if (typeof flags.tenant !== 'string' || !flags.tenant) throw new TrustUsageError(`"trust ${action ?? ''}" needs --tenant <id>.`);
  const tenantId = flags.tenant;
  switch (action) {
    case 'add': {
      const [file] = args;
      if (!file) throw new TrustUsageError('Give the PEM file of the root certificate(s): sesame trust add --tenant <id> <file.pem>.');
      const { roots, added } = await services.attestationRoots.add(tenantId, readPem(file));
      await services.audit.record({ type: 'admin.tenant_changed', tenantId, detail: { attestationRootsAdded: roots.map((r) => r.fingerprint) } });
      out(`Tenant "${tenantId}" trusts ${roots.length === 1 ? 'this attestation root' : `these ${roots.length} attestation roots`}${added < roots.length ? ` (${roots.length - added} already trusted)` : ''}:`);
      for (const root of roots) out(`  ${root.subject}\n    SHA-256 ${root.fingerprint}, valid until ${new Date(root.notAfter).toISOString().slice(0, 10)}`);
      out('Passkeys whose attestation chains to it count as attested (tenant set --trust attested) from now on.');
      return;
    }
    case 'list': {
      const roots = await services.attestationRoots.list(tenantId);
      if (roots.length === 0) {
        out(`Tenant "${tenantId}" trusts no attestation roots of its own; the FIDO metadata's and the platform vendors' apply. Add one with: sesame trust add --tenant ${tenantId} <file.pem>`);
        return;
      }
      const now = Date.now();
      for (const line of table(['SHA-256 FINGERPRINT', 'VALID UNTIL', 'SUBJECT'], roots.map((r) => [
        r.fingerprint, `${new Date(r.notAfter).toISOString().slice(0, 10)}${r.notAfter < now ? ' (expired)' : ''}`, r.subject,
      ]))) out(line);
      return;
    }
    case 'remove': {
      const [fingerprint] = args;
      if (!fingerprint) throw new TrustUsageError('Give the root\'s SHA-256 fingerprint (sesame trust list shows it), or all: sesame trust remove --tenant <id> <fingerprint|all>.');
      const removed = await services.attestationRoots.remove(tenantId, fingerprint);
      await services.audit.record({ type: 'admin.tenant_changed', tenantId, detail: { attestationRootsRemoved: fingerprint === 'all' ? 'all' : [fingerprint] } });
      out(`Tenant "${tenantId}" no longer trusts ${removed === 1 ? 'that attestation root' : `${removed} attestation roots`}. Passkeys registered before keep their record; new ones must chain to another root.`);
      return;
    }
    default:
      throw new TrustUsageError(`Unknown command "trust ${action ?? ''}".`);
  }
}

function readPem(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new TrustUsageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
}
