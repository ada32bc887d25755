import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's folder, where src/ (page and mail templates), public/ and package.json are: the
 * first folder above this module that holds package.json. It is found the same way whether Sesame
 * runs from src/ (tsx), from dist/src/ (tsc) or from the one-file build dist/server.mjs.
 */
export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: Sesame cannot find its templates`);
  }
}
