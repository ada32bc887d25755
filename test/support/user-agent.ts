import { CookieJar } from 'tough-cookie';

export interface UaResponse {
  status: number;
  url: string;
  headers: Headers;
  text: string;
  json<T = any>(): T;
}

/**
 * A browser stand-in for HTTP tests: keeps cookies, follows redirects one by one (so tests can
 * see each hop), and sends Origin on POSTs the way a browser page of `origin` would.
 */
export class UserAgent {
  readonly jar = new CookieJar();

  constructor(readonly origin: string) {}

  async request(url: string, init: RequestInit & { origin?: string | null } = {}): Promise<UaResponse> {
    const headers = new Headers(init.headers);
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.set('cookie', cookie);
    if ((init.method ?? 'GET') !== 'GET' && init.origin !== null && !headers.has('origin')) headers.set('origin', init.origin ?? this.origin);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) await this.jar.setCookie(setCookie, url);
    const text = await response.text();
    return { status: response.status, url, headers: response.headers, text, json: () => JSON.parse(text) };
  }

  get(url: string) {
    return this.request(url);
  }

  postJson(url: string, body: unknown, init: RequestInit & { origin?: string | null } = {}) {
    return this.request(url, { ...init, method: 'POST', headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) }, body: JSON.stringify(body) });
  }

  /** GETs url and follows redirects until a non-redirect answer (or a redirect leaving `stopAtOrigin`). */
  async follow(url: string, stopOutside = this.origin): Promise<UaResponse> {
    let current = url;
    for (let hop = 0; hop < 10; hop += 1) {
      const response = await this.get(current);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return response;
      current = new URL(location, current).href;
      if (!current.startsWith(stopOutside)) return { ...response, url: current };
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

/** Reads the fields of oidc-provider's form_post page (action + hidden inputs). */
export function parseFormPost(html: string): { action: string; fields: Record<string, string> } {
  const action = decodeEntities(/<form[^>]*action="([^"]*)"/i.exec(html)?.[1] ?? '');
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"/gi)) fields[decodeEntities(match[1])] = decodeEntities(match[2]);
  return { action, fields };
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x?[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()];
    return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}
