import Router from '@koa/router';
import type { Config } from '../../config.js';
import { devOutboxDir } from '../../mail/mail-system.js';
import { listDevOutbox, readDevOutboxEntry, readDevOutboxMessage } from '../../mail/dev-outbox.js';
import { renderPage } from '../../views/render.js';
import { cspNonce } from '../csp.js';

/**
 * /dev/outbox: the mails a developer's Sesame wrote instead of sending them. They hold sign-in codes,
 * so the page exists only on a localhost PUBLIC_URL without SMTP; everywhere else it is a 404.
 */
export function devOutboxRoutes(config: Config): Router {
  const router = new Router();
  if (!config.mail.devOutbox || !config.localOnly) return router;
  const dir = devOutboxDir(config);

  router.get('/dev/outbox', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderPage('dev-outbox', { nonce: cspNonce(ctx), title: 'Dev outbox', dir, entries: await listDevOutbox(dir) });
  });
  router.get('/dev/outbox/:file', async (ctx) => {
    const match = /^(.+)\.(txt|html|eml)$/.exec(ctx.params.file);
    if (!match) return;
    const [, id, kind] = match;
    ctx.set('Cache-Control', 'no-store');
    if (kind === 'eml') {
      const message = await readDevOutboxMessage(dir, id);
      if (!message) return;
      ctx.type = 'message/rfc822';
      ctx.attachment(`${id}.eml`);
      ctx.body = message;
      return;
    }
    const entry = await readDevOutboxEntry(dir, id);
    if (!entry) return;
    if (kind === 'txt') {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = entry.text;
      return;
    }
    // The mail's HTML as a mail client would show it: its inline styles, no scripts, no requests.
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox");
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = entry.html;
  });
  return router;
}
