import type { Services } from '../services.js';
import { INVITATION_TTL_MS } from '../admin/admin-accounts.js';
import { OPERATOR_SCOPE } from '../admin/admin-repository.js';
import { email as emailSchema } from '../http/schemas.js';

/** `sesame admin create <email>` and `sesame tenant invite <email>`: one-time links to the console and to onboarding. */
export class AdminUsageError extends Error {}

function checkedEmail(value: string | undefined, usage: string): string {
  if (!value) throw new AdminUsageError(`Give the e-mail address: ${usage}.`);
  const parsed = emailSchema.safeParse(value);
  if (!parsed.success) throw new AdminUsageError(`"${value}" is not an e-mail address.`);
  return parsed.data;
}

export async function runAdminCreate(rest: string[], services: Services, out: (line?: string) => void): Promise<void> {
  const email = checkedEmail(rest[0], 'sesame admin create <email>');
  const { invitation, link } = await services.adminAccounts.createInvitation({ kind: 'operator', email, invitedBy: 'cli' });
  await services.audit.record({ type: 'admin.invited', tenantId: OPERATOR_SCOPE, detail: { email, invitationId: invitation.id, operator: true } });
  out(`Enrolment link for ${email}, operator administrator (every tenant):`);
  out();
  out(`  ${link}`);
  out();
  out(`It works once, until ${new Date(invitation.expiresAt).toISOString()} (${INVITATION_TTL_MS / 3600_000} hours). Opened in a browser, it creates`);
  out(`the passkey that signs in to ${services.config.publicUrl}/admin. Whoever opens it first becomes the administrator:`);
  out('give it only over a channel you trust. Run the command again for a new link (for instance, for a lost passkey).');
}

export async function runTenantInvite(rest: string[], services: Services, out: (line?: string) => void): Promise<void> {
  const email = checkedEmail(rest[0], 'sesame tenant invite <email>');
  const { link, expiresAt } = await services.onboarding.invite(email);
  out(`Onboarding invitation for ${email} (mailed to them as well):`);
  out();
  out(`  ${link}`);
  out();
  out(`It opens the form at ${services.config.publicUrl}/onboard once, until ${new Date(expiresAt).toISOString()}; the organisation`);
  out('then confirms its address by mail and creates its console passkey.');
}
