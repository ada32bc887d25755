import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Services } from '../services.js';
import { SesameError } from '../errors.js';
import type { AuthenticatorMetadata } from '../webauthn/metadata/authenticator-status.js';
import type { LoadResult } from '../webauthn/metadata/metadata-service.js';
import { ALL_TENANTS } from './audit-commands.js';

/** `sesame mds …`: the FIDO metadata BLOB in force (src/webauthn/metadata). */
export class MdsUsageError extends Error {}

export async function runMdsCommand(action: string | undefined, args: string[], flags: Record<string, unknown>, services: Services, out: (line?: string) => void): Promise<void> {
  switch (action) {
    case 'load': {
      const [source] = args;
      if (!source) throw new MdsUsageError('Give the BLOB\'s file or URL: sesame mds load <file or https URL>.');
      const options = { extraRootsPem: readRoots(flags.root), allowStale: flags['allow-stale'] === true };
      const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
      const blob = isUrl ? undefined : readBlob(source);
      let result: LoadResult;
      try {
        result = blob === undefined ? await services.metadata.loadFromUrl(source, options) : await services.metadata.load(blob, { ...options, source });
      } catch (error) {
        const inForce = await services.metadata.inForce();
        const stays = inForce ? `The BLOB in force (no. ${inForce.no}) stays.` : 'No BLOB is in force.';
        throw new SesameError((error as SesameError).code ?? 'mds_blob_refused', 400, `${(error as Error).message} ${stays}`);
      }
      await services.audit.record({ type: 'admin.mds_loaded', tenantId: ALL_TENANTS, detail: { no: result.no, source, nextUpdate: result.nextUpdate, stale: result.stale, flaggedPasskeys: result.flaggedCredentials } });
      out(`FIDO metadata BLOB no. ${result.no} is now in force (from ${source}).`);
      out(`  Next update:     ${result.nextUpdate}${result.stale ? ' (passed: loaded with --allow-stale)' : ''}`);
      out(`  Entries:         ${result.entries} (${result.aaguidEntries} by AAGUID)`);
      writeReports(out, [...result.securityStatuses].map(([aaguid, status]) => ({ aaguid, status, description: services.metadata.entryFor(aaguid)?.description })));
      out(`  Flagged passkeys: ${result.flaggedCredentials}`);
      return;
    }
    case 'status': {
      const inForce = await services.metadata.inForce();
      if (!inForce) {
        out('No FIDO metadata BLOB is in force. Load one with: sesame mds load <file or https URL>');
      } else {
        out(`FIDO metadata BLOB no. ${inForce.no}, in force since ${new Date(inForce.loadedAt).toISOString()} (from ${inForce.source}).`);
        out(`  Next update:     ${inForce.nextUpdate}${inForce.stale ? ' (passed: load a newer BLOB)' : ''}`);
        out(`  Authenticators:  ${inForce.aaguidEntries} by AAGUID`);
        writeReports(out, inForce.securityStatuses.map((e: AuthenticatorMetadata) => ({ aaguid: e.aaguid, status: e.securityStatus!, description: e.description })));
        out(`  Flagged passkeys: ${inForce.flaggedCredentials}`);
      }
      const refused = services.metadata.refusedStatuses;
      out(`Refused (MDS_REFUSED_STATUSES): ${refused.length ? refused.join(', ') : 'none'}`);
      out(services.metadata.url ? `Refreshed daily from ${services.metadata.url} (MDS_URL).` : 'No scheduled refresh (MDS_URL is off).');
      return;
    }
    default:
      throw new MdsUsageError(`Unknown command "mds ${action ?? ''}".`);
  }
}

function writeReports(out: (line?: string) => void, reports: Array<{ aaguid: string; status: string; description: string | undefined }>): void {
  if (reports.length === 0) {
    out('  Security reports: none');
    return;
  }
  out('  Security reports:');
  for (const r of reports) out(`    ${r.aaguid}  ${r.status}  ${r.description ?? ''}`.trimEnd());
}

function readBlob(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MdsUsageError(`Cannot read the BLOB file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
}

function readRoots(flag: unknown): string[] {
  const files = Array.isArray(flag) ? flag as string[] : [];
  return files.map((file) => {
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
      new X509Certificate(pem);
    } catch (error) {
      throw new MdsUsageError(`--root ${file} is not a readable PEM certificate (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
    }
    return pem;
  });
}
