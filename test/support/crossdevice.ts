import type { TestServer } from './server.js';
import type { Client } from '../../src/storage/repositories/clients.js';
import { UserAgent } from './user-agent.js';
import { authorizeUrl, openSignInPage } from './flow.js';

const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';

interface Started { id: string; link: string; number: number; qrSvg: string; kind: string; expiresAt: string }

/** A desktop browser on the sign-in page that asks to sign in with a phone. */
export async function desktopStarts(server: TestServer, client: Client, body: Record<string, unknown> = {}) {
  const ua = new UserAgent(server.origin);
  const { base } = await openSignInPage(ua, authorizeUrl(server, client));
  const started = await ua.postJson(`${base}/crossdevice`, body, { headers: { 'user-agent': DESKTOP_UA } });
  return { ua, base, started, request: started.json() as Started };
}

