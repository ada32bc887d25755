// Bundles the server into one file, dist/server.mjs (what `npm start` runs). Loading one file
// instead of some 900 modules halves start-up and saves about 20 MB of memory (docs/performance.md).
// The native SQLite binding stays outside, and so do the packages Sesame loads only when it needs
// them (PostgreSQL, mail, push, QR codes): bundled, they would be parsed at every start.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const LOADED_FROM_NODE_MODULES = ['better-sqlite3', 'pg', 'nodemailer', 'web-push', 'qrcode'];

/** Bundles `entry` (relative to the project) into `outfile`, as the server is bundled. */
export async function bundleServer(entry, outfile) {
  await build({
    entryPoints: [path.join(root, entry)],
    outfile: path.join(root, outfile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: LOADED_FROM_NODE_MODULES,
    // Some bundled packages are CommonJS and require() Node's modules.
    banner: { js: "import { createRequire as __sesameCreateRequire } from 'node:module'; const require = __sesameCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    // V8 keeps the source of a script for as long as it runs (functions compile on their first call).
    // Unminified, the bundle kept the packages' comments, some of them not ASCII, so V8 held all of its
    // 5.2 MB as a two-byte string: 10 MB of heap, and 1 MB more for the positions of its 137,000 lines.
    // Without whitespace and comments it is 3.7 MB of ASCII, held as 3.7 MB (docs/performance.md,
    // "Memory"). Names are not minified: stack traces still name each function, and the linked source
    // map (`node --enable-source-maps`) turns their positions back into files and lines of src/.
    minifyWhitespace: true,
    charset: 'ascii',
    logLevel: 'warning',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleServer('src/server.ts', 'dist/server.mjs');
}
