import assert from 'node:assert/strict';
import { SoftwareAuthenticator } from '../../sdk/software-authenticator.js';
import type { TestServer } from './server.js';
import { UserAgent, type UaResponse } from './user-agent.js';

/** The console as a browser uses it: enrolment links, passkey sign-in, and its plain HTML forms. */

/** The token of an enrolment link (it rides in the fragment). */
export const tokenOf = (link: string) => new URL(link).hash.slice(1);

/** Opens an enrolment link and creates the console passkey, as the enrolment page does; answers the last response. */
export async function enrol(ua: UserAgent, link: string, authenticator: SoftwareAuthenticator): Promise<UaResponse> {
  const token = tokenOf(link);
  const page = await ua.get(new URL(link).href.replace(/#.*$/, ''));
  assert.equal(page.status, 200, page.text.slice(0, 300));
  const start = await ua.postJson(`${ua.origin}/admin/enrol/options`, { token });
  if (start.status !== 200) return start;
  const { challengeId, options } = start.json();
  return ua.postJson(`${ua.origin}/admin/enrol/verify`, { token, challengeId, response: authenticator.createCredential(options, ua.origin) });
}

/** A browser signed in to the console through an enrolment link (a new administrator). */
export async function enrolled(server: TestServer, link: string, authenticator = new SoftwareAuthenticator()): Promise<{ ua: UserAgent; authenticator: SoftwareAuthenticator; redirectTo: string }> {
  const ua = new UserAgent(server.origin);
  const done = await enrol(ua, link, authenticator);
  assert.equal(done.status, 200, done.text);
  return { ua, authenticator, redirectTo: done.json().redirectTo };
}

/** Signs in to the console with a passkey, as the sign-in page does. */
export async function consoleSignIn(ua: UserAgent, authenticator: SoftwareAuthenticator, next?: string): Promise<UaResponse> {
  await ua.get(`${ua.origin}/admin`);
  const start = await ua.postJson(`${ua.origin}/admin/signin/options`, {});
  assert.equal(start.status, 200, start.text);
  const { challengeId, options } = start.json();
  return ua.postJson(`${ua.origin}/admin/signin/verify`, { challengeId, response: authenticator.getAssertion(options, ua.origin), next });
}

/** Submits one of the console's forms (application/x-www-form-urlencoded, from a page of `origin`). */
export function postForm(ua: UserAgent, path: string, fields: Record<string, string | string[]>, origin?: string | null): Promise<UaResponse> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  return ua.request(`${ua.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, origin });
}

/** An operator administrator made the way `sesame admin create` does, signed in. */
export async function operator(server: TestServer, email = 'operator@example.com') {
  const { link } = await server.services.adminAccounts.createInvitation({ kind: 'operator', email, invitedBy: 'cli' });
  return enrolled(server, link);
}

/** A tenant administrator, invited by an operator's link and signed in. */
export async function tenantAdmin(server: TestServer, tenantId: string, email: string) {
  const { link } = await server.services.adminAccounts.createInvitation({ kind: 'tenant-admin', email, tenantId, invitedBy: 'test' });
  return enrolled(server, link);
}

/** A page's HTML with the escapes of its templates undone, for matching what a person reads. */
export function readable(html: string): string {
  return html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
