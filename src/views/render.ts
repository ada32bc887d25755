import path from 'node:path';
import { Eta } from 'eta';
import type { Branding } from '../tenants/branding.js';
import { projectRoot } from '../paths.js';

/**
 * Server-rendered pages. Eta escapes every `<%= %>` interpolation (autoEscape), so a value can only
 * reach the page as HTML through an explicit `<%~ %>`, which templates use for trusted layout
 * slots only. Templates are compiled once and cached.
 */
// Built or not, the templates stay in src/views.
const viewsDir = path.join(projectRoot, 'src', 'views', 'pages');

const eta = new Eta({ views: viewsDir, cache: true, autoEscape: true });

export interface PageContext {
  /** The per-response CSP nonce; scripts without it do not run. */
  nonce: string;
  title: string;
  /** The tenant's name, colour and logo (brandingOf); pages outside a tenant have none. */
  branding?: Branding;
}

export function renderPage(name: string, data: PageContext & Record<string, unknown>): string {
  return eta.render(`./${name}`, data);
}

/** JSON for a `<script type="application/json">` block: `<` is escaped so no value can close the tag. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
