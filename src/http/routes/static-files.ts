import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };

/**
 * Serves the few static assets (stylesheet, browser bundle) from memory under /static/. They are
 * read once at start; a missing bundle means `npm run build` has not run, which is said loudly.
 */
export function staticFiles(rootDir: string, log: { warn: (msg: string) => void }): Middleware {
  const files = new Map<string, { body: Buffer; type: string; etag: string }>();
  const walk = (dir: string, prefix: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
      else if (TYPES[path.extname(entry.name)]) {
        const body = fs.readFileSync(full);
        files.set(`/static/${prefix}${entry.name}`, { body, type: TYPES[path.extname(entry.name)], etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` });
      }
    }
  };
  walk(rootDir, '');
  if (!files.has('/static/build/signin.js')) log.warn('The browser bundle public/build/signin.js is missing: run `npm run build` before starting.');
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.set('ETag', file.etag);
    if (ctx.get('If-None-Match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  };
}
