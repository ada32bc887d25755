import type { Services } from '../services.js';
import { MAX_INVITATION_DAYS, MAX_INVITATION_USES } from '../accounts/invitations.js';
import { table } from './table.js';

/** `sesame invitation create | list | revoke`: sign-up invitations for a tenant whose sign-up is by invitation (src/accounts/invitations.ts). */
export class InvitationUsageError extends Error {}

export async function runInvitationCommand(action: string | undefined, args: string[], flags: Record<string, unknown>, services: Services, out: (line?: string) => void): Promise<void> {
  if (typeof flags.tenant !== 'string' || !flags.tenant) throw new InvitationUsageError(`"invitation ${action ?? ''}" needs --tenant <id>.`);
  const tenant = await services.tenants.requireTenant(flags.tenant);
  switch (action) {
    case 'create': {
      const email = typeof flags.email === 'string' ? flags.email : undefined;
      const send = flags.send === true;
      if (send && !email) throw new InvitationUsageError('--send mails the invitation to --email <address>: give the address.');
      if (typeof flags.client === 'string' && !send) throw new InvitationUsageError('--client names the application in the mail: use it with --send.');
      const groupIds = await groupIdsOf(services, tenant.id, (flags.group as string[] | undefined) ?? []);
      const created = await services.invitations.create(tenant.id, {
        email, send, groupIds,
        maxUses: whole('--uses', flags.uses, MAX_INVITATION_USES),
        expiresInDays: whole('--days', flags.days, MAX_INVITATION_DAYS),
        clientId: typeof flags.client === 'string' ? flags.client : undefined,
      });
      const { invitation } = created;
      const until = new Date(invitation.expiresAt).toISOString();
      const uses = invitation.maxUses === 1 ? 'once' : `${invitation.maxUses} times`;
      if (created.sentTo) {
        out(`Invitation ${invitation.id} to tenant "${tenant.id}" is mailed to ${created.sentTo}; it can be used ${uses}, until ${until}.`);
        out('The running server sends it (it waits in the mail outbox until then). Only that address can create an account with it.');
      } else {
        out(`Invitation ${invitation.id} to tenant "${tenant.id}"${invitation.email ? ` for ${invitation.email}` : ''}: it can be used ${uses}, until ${until}.`);
        out();
        out(`  ${created.link}`);
        out();
        out('The link is shown only now (Sesame keeps only a hash of it). Give it to the person: they open it in the browser');
        out('they will sign up with, accept it, then create their account through the application as usual.');
      }
      if (tenant.signup !== 'invitation') out(`Note: anyone can create an account at tenant "${tenant.id}" for now; close sign-up with: sesame tenant set ${tenant.id} --signup invitation`);
      out(`Withdraw it with: sesame invitation revoke --tenant ${tenant.id} ${invitation.id}`);
      return;
    }
    case 'list': {
      const invitations = await services.invitations.list(tenant.id);
      if (invitations.length === 0) {
        out(`Tenant "${tenant.id}" has no invitations. Make one with: sesame invitation create --tenant ${tenant.id} [--email <address> [--send]]`);
        return;
      }
      const now = Date.now();
      const state = (i: { revokedAt: number | null; expiresAt: number; uses: number; maxUses: number }) =>
        (i.revokedAt !== null ? 'withdrawn' : i.uses >= i.maxUses ? 'used up' : i.expiresAt <= now ? 'expired' : 'open');
      for (const line of table(['ID', 'FOR', 'USES', 'EXPIRES', 'STATE'], invitations.map((i) => [
        i.id, i.email ?? 'anyone with the link', `${i.uses}/${i.maxUses}`, new Date(i.expiresAt).toISOString().slice(0, 16), state(i),
      ]))) out(line);
      return;
    }
    case 'revoke': {
      const [id] = args;
      if (!id) throw new InvitationUsageError('Give the invitation\'s id (sesame invitation list shows it): sesame invitation revoke --tenant <id> <invitation id>.');
      await services.invitations.revoke(tenant.id, id);
      out(`Invitation ${id} is withdrawn: nobody can create an account with it any more (accounts made with it stay).`);
      return;
    }
    default:
      throw new InvitationUsageError(`Unknown command "invitation ${action ?? ''}".`);
  }
}

function whole(flag: string, value: unknown, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new InvitationUsageError(`${flag} takes a whole number from 1 to ${max}, not "${String(value)}".`);
  return Number(value);
}

/** Groups by id or by name, as `sesame` users know them. */
async function groupIdsOf(services: Services, tenantId: string, given: string[]): Promise<string[]> {
  if (given.length === 0) return [];
  const groups = await services.groups.list(tenantId);
  return given.map((g) => groups.find((group) => group.id === g || group.name === g)?.id ?? g);
}
