import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** package.json's version, from src/ or dist/src/ (the CLI and the admin API's OpenAPI document say it). */
export function sesameVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
