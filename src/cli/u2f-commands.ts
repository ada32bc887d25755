import fs from 'node:fs';
import type { Services } from '../services.js';

/** `sesame u2f import <file> --tenant <id>`: U2F registrations made elsewhere become credentials (src/u2f). */
export class U2fUsageError extends Error {}

export async function runU2fCommand(action: string | undefined, args: string[], flags: Record<string, unknown>, services: Services, out: (line?: string) => void): Promise<void> {
  if (action !== 'import') throw new U2fUsageError(`Unknown command "u2f ${action ?? ''}".`);
  const [file] = args;
  if (!file) throw new U2fUsageError('Give the file of registrations: sesame u2f import <file> --tenant <id>.');
  if (typeof flags.tenant !== 'string' || !flags.tenant) throw new U2fUsageError('"u2f import" needs --tenant <id>.');
  const tenant = await services.tenants.requireTenant(flags.tenant);
  const records = readRecords(file);
  const report = await services.u2f.importRegistrations(tenant.id, records);
  const created = report.imported.filter((r) => r.userCreated).length;
  await services.audit.record({ type: 'admin.u2f_imported', tenantId: tenant.id, detail: { imported: report.imported.length, refused: report.refused.length, accountsCreated: created } });
  out(`${report.imported.length} of ${records.length} U2F registrations imported into tenant "${tenant.id}", ${report.refused.length} refused.`);
  for (const r of report.imported) {
    out(`  imported  #${r.index + 1} ${r.email} key ${short(r.keyHandle)}${r.userCreated ? ' (new account, e-mail address not verified)' : ''}`);
  }
  for (const r of report.refused) out(`  refused   #${r.index + 1}${r.email ? ` ${r.email}` : ''}${r.keyHandle ? ` key ${short(r.keyHandle)}` : ''}: ${r.reason}`);
  if (created > 0) {
    out(`${created} account(s) were created with email_verified false: the U2F records prove the key, not the address.`);
  }
}

/** JSON lines, or one JSON array. */
function readRecords(file: string): unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new U2fUsageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown[];
    return trimmed.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  } catch (error) {
    throw new U2fUsageError(`${file} is neither JSON lines nor a JSON array: ${(error as Error).message}.`);
  }
}

function short(keyHandle: string): string {
  return keyHandle.length > 16 ? `${keyHandle.slice(0, 16)}…` : keyHandle;
}
