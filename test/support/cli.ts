import { after, before } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';

/**
 * The `sesame` command run in-process, for the tests of one describe block: a fresh data folder and
 * the given settings in the environment (restored afterwards). `sesame(...)` answers the exit code
 * and what was printed.
 */
export function sesameCli(prefix: string, env: Record<string, string>) {
  const saved = { ...process.env };
  let dataDir = '';
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    Object.assign(process.env, { DATA_DIR: dataDir, DATABASE_URL: '', ...env });
  });
  after(() => {
    process.env = saved;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { sesame: (...args: string[]) => runSesame(args), dataDir: () => dataDir };
}

/** `sesame <args>` in-process: the exit code and what it printed on stdout and stderr. */
export async function runSesame(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, (line = '') => out.push(line), (line) => err.push(line));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `sesame passport …` as a terminal device whose key lives in `file`. */
export const passportCli = (file: string) => (...args: string[]) => runSesame([...args, '--file', file]);
