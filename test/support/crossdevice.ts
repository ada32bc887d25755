import assert from 'node:assert/strict';
import type { TestServer } from './server.js';
import type { SoftwareAuthenticator } from '../../sdk/software-authenticator.js';
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


/** Signs in on the account page with a passkey and asks for a Passport enrolment link (…/passport/#enrol=<token>). */
export async function enrolmentLink(server: TestServer, authenticator: SoftwareAuthenticator): Promise<string> {
  const ua = new UserAgent(server.origin);
  const account = `${server.origin}/demo/account`;
  await ua.get(account);
  const start = (await ua.postJson(`${account}/signin/options`, {})).json();
  assert.equal((await ua.postJson(`${account}/signin/verify`, { challengeId: start.challengeId, response: authenticator.getAssertion(start.options, server.origin) })).status, 200);
  const link = await ua.postJson(`${account}/passport/link`, {});
  assert.equal(link.status, 200, link.text);
  return link.json().link;
}
