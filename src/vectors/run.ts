import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWebAuthnCase, type Outcome, type WebAuthnCase } from './webauthn-cases.js';
import { isU2fCase, runU2fCase, type U2fCase } from './u2f-cases.js';
import { isUafCase, runUafCase, type UafCase } from './uaf-cases.js';

/**
 * `npm run vectors -- <file.jsonl> [...]`: runs external test vectors through Sesame's own
 * verification code, one line per case and a summary; exits 1 on any mismatch.
 */
export async function runVectorFile(file: string, print: (line: string) => void): Promise<{ pass: number; mismatch: number; deferred: number }> {
  const counts = { pass: 0, mismatch: 0, deferred: 0 };
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  for (const [index, line] of lines.entries()) {
    let id = `line ${index + 1}`;
    let outcome: Outcome;
    try {
      const testCase = JSON.parse(line) as WebAuthnCase & { kind?: string };
      id = testCase.case ?? id;
      outcome = isU2fCase(testCase) ? runU2fCase(testCase as unknown as U2fCase)
        : isUafCase(testCase) ? runUafCase(testCase as unknown as UafCase)
        : await runWebAuthnCase(testCase, path.dirname(path.resolve(file)));
    } catch (error) {
      outcome = { verdict: 'mismatch', detail: `unreadable case: ${(error as Error).message}` };
    }
    counts[outcome.verdict] += 1;
    print(`${outcome.verdict.padEnd(8)} ${id}  ${outcome.detail}`);
  }
  print(`${file}: ${lines.length} cases, ${counts.pass} pass, ${counts.mismatch} mismatch, ${counts.deferred} deferred`);
  return counts;
}

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('Usage: npm run vectors -- <file.jsonl> [more.jsonl ...]   (e.g. ../shared/vectors/webauthn-registration.jsonl)');
    process.exit(2);
  }
  let mismatches = 0;
  for (const file of files) {
    if (!fs.existsSync(file)) {
      console.error(`vectors: no such file: ${file}`);
      process.exit(2);
    }
    mismatches += (await runVectorFile(file, (l) => console.log(l))).mismatch;
  }
  process.exit(mismatches > 0 ? 1 : 0);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
