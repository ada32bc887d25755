import { createHash } from 'node:crypto';
import { z } from 'zod';
import { randomId } from '../ids.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Invitation, InvitationRepository } from '../storage/repositories/invitations.js';
import type { GroupRepository } from '../storage/repositories/groups.js';
import type { ClientRepository } from '../storage/repositories/clients.js';
import type { MailService } from '../mail/mail-service.js';
import type { GroupService } from './groups.js';
import type { Tenant } from '../storage/repositories/tenants.js';

export const MAX_INVITATION_DAYS = 30;
export const MAX_INVITATION_USES = 10_000;
export const INVITATION_REQUIRED = 'Creating an account here needs an invitation. Open the invitation link you were sent, then come back to this page.';

export const INVITATION_SPENT = 'This invitation has been used up, has expired or was withdrawn. Ask the person who invited you for a new one.';

/** What the sign-in page says instead of offering sign-up to a person without an invitation. */
export const SIGNUP_BY_INVITATION = 'This organisation adds people by invitation. Ask your administrator for one.';

/** The answer to an address nobody has: where sign-up is by invitation, creating an account is for the invited. */
export const unknownAddressMessage = (tenant: Pick<Tenant, 'signup'>): string => (tenant.signup === 'invitation'
  ? 'We don\'t know this e-mail address. Check it, or create an account if you were invited.'
  : 'We don\'t know this e-mail address. Check it, or create an account.');

/**
 * What the sign-in page offers a person who has no account: sign-up as usual where it is 'open' or
 * this browser holds a usable invitation ('invited'); otherwise an explanation — no invitation
 * ('closed'), or one that can no longer be used ('spent').
 */
export type SignUpOffer = 'open' | 'invited' | 'closed' | 'spent';

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');
const emailAddress = z.string().trim().toLowerCase().pipe(z.string().email().max(254));

export interface InvitationRequest {
  maxUses?: number;
  expiresInDays?: number;
  /** Only this address may sign up with it. */
  email?: string;
  groupIds?: string[];
  /** Mail the link to `email` (through the outbox) instead of answering it. */
  send?: boolean;
  /** The client the mail names as the application to use; by default the tenant's only client, if it has just one. */
  clientId?: string;
}

/** A new invitation, and its link — or, when it was mailed, the address it went to (the link is then only in the mail). */
export type CreatedInvitation = { invitation: Invitation; link: string; sentTo?: undefined } | { invitation: Invitation; sentTo: string; link?: undefined };

/**
 * Sign-up invitations, for tenants whose sign-up is closed (`signup: invitation`): a link with a
 * 256-bit token (in the URL's fragment, like recovery links), an expiry and a use limit, optionally
 * for one address, optionally making the new account a member of some groups. A use is taken by
 * one conditional UPDATE when the account is created (never more than the limit under concurrency)
 * and given back if the sign-up then fails.
 */
export class InvitationService {
  constructor(
    private readonly invitations: InvitationRepository,
    private readonly groupMembers: Pick<GroupRepository, 'addMember'>,
    private readonly groups: Pick<GroupService, 'requireGroups'>,
    private readonly audit: AuditLog,
    private readonly publicUrl: string,
    private readonly mail: Pick<MailService, 'enqueue'>,
    private readonly clients: Pick<ClientRepository, 'find' | 'listByTenant'>,
  ) {}

  /**
   * A new invitation. With `send` the link is mailed to `email` (naming the tenant, the application
   * and the expiry) and not answered: only the person invited holds it. Everything is checked
   * before anything is stored.
   */
  async create(tenantId: string, input: InvitationRequest & { send?: false }, now?: number): Promise<{ invitation: Invitation; link: string }>;
  async create(tenantId: string, input: InvitationRequest, now?: number): Promise<CreatedInvitation>;
  async create(tenantId: string, input: InvitationRequest, now = Date.now()): Promise<CreatedInvitation> {
    const maxUses = input.maxUses ?? 1;
    const days = input.expiresInDays ?? 7;
    if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > MAX_INVITATION_USES) throw badRequest(`An invitation is used 1 to ${MAX_INVITATION_USES} times.`, 'invalid_invitation');
    if (!Number.isInteger(days) || days < 1 || days > MAX_INVITATION_DAYS) throw badRequest(`An invitation lasts 1 to ${MAX_INVITATION_DAYS} days.`, 'invalid_invitation');
    let email: string | null = null;
    if (input.email !== undefined) {
      const parsed = emailAddress.safeParse(input.email);
      if (!parsed.success) throw badRequest(`"${input.email}" is not an e-mail address.`, 'invalid_email');
      email = parsed.data;
    }
    if (input.send && email === null) throw badRequest('To send an invitation, give the address it is for (email): only that address may then use it.', 'invalid_invitation');
    if (input.clientId !== undefined && !input.send) throw badRequest('clientId names the application in the invitation mail: give it with send.', 'invalid_invitation');
    const groupIds = await this.groups.requireGroups(tenantId, input.groupIds ?? []);
    const applicationName = input.send ? await this.applicationName(tenantId, input.clientId) : undefined;
    const token = randomId(32);
    const invitation: Invitation = {
      id: randomId(9), tenantId, email, groupIds, maxUses, uses: 0,
      createdAt: now, expiresAt: now + days * 86_400_000, revokedAt: null,
    };
    // In the fragment: it never reaches a server's or proxy's log.
    const link = `${this.publicUrl}/${tenantId}/invitation#token=${token}`;
    await this.invitations.insert(invitation, hashToken(token));
    if (input.send) await this.mail.enqueue({ tenantId, to: email!, template: 'invitation', data: { link, expiresAt: invitation.expiresAt, applicationName } });
    await this.audit.record({
      type: 'admin.invitation_created', tenantId,
      detail: { invitationId: invitation.id, maxUses, expiresAt: new Date(invitation.expiresAt).toISOString(), email: invitation.email, groups: groupIds, sent: Boolean(input.send) },
    });
    return input.send ? { invitation, sentTo: email! } : { invitation, link };
  }

  /** The name the invitation mail gives the application: the client asked for, or the tenant's only one. */
  private async applicationName(tenantId: string, clientId: string | undefined): Promise<string | undefined> {
    if (clientId !== undefined) {
      const client = await this.clients.find(tenantId, clientId);
      if (!client) throw notFound(`Tenant "${tenantId}" has no client "${clientId}".`, 'unknown_client');
      return client.name;
    }
    const clients = await this.clients.listByTenant(tenantId);
    return clients.length === 1 ? clients[0]!.name : undefined;
  }

  list(tenantId: string): Promise<Invitation[]> {
    return this.invitations.list(tenantId);
  }

  async revoke(tenantId: string, id: string, now = Date.now()): Promise<void> {
    if (!await this.invitations.find(tenantId, id)) throw notFound(`Tenant "${tenantId}" has no invitation "${id}".`, 'unknown_invitation');
    if (!await this.invitations.revoke(tenantId, id, now)) throw badRequest('This invitation is revoked already.', 'already_revoked');
    await this.audit.record({ type: 'admin.invitation_revoked', tenantId, detail: { invitationId: id } });
  }

  /** The invitation a token stands for, if it can still be used; undefined otherwise. */
  usable(tenantId: string, token: string | undefined, now = Date.now()): Promise<Invitation | undefined> {
    if (!token || token.length > 100) return Promise.resolve(undefined);
    return this.invitations.findUsable(tenantId, hashToken(token), now);
  }

  async signUpOffer(tenant: Tenant, token: string | undefined, now = Date.now()): Promise<SignUpOffer> {
    if (tenant.signup !== 'invitation') return 'open';
    if (await this.usable(tenant.id, token, now)) return 'invited';
    return token && token.length <= 100 && await this.invitations.exists(tenant.id, hashToken(token)) ? 'spent' : 'closed';
  }

  /** Whether a sign-up for `email` may start: always with open sign-up, else only with a usable invitation for that address. */
  async requireForSignUp(tenant: Tenant, token: string | undefined, email: string | undefined, now = Date.now()): Promise<Invitation | undefined> {
    if (tenant.signup !== 'invitation') return undefined;
    const invitation = await this.usable(tenant.id, token, now);
    if (!invitation) {
      if (token && token.length <= 100 && await this.invitations.exists(tenant.id, hashToken(token))) throw forbidden(INVITATION_SPENT, 'invitation_used_up');
      throw forbidden(INVITATION_REQUIRED, 'invitation_required');
    }
    if (email !== undefined) checkAddress(invitation, email);
    return invitation;
  }

  /**
   * Runs the account creation with one use of the invitation taken first; a failed creation gives
   * the use back. `create` calls `admit` with the new account's address before it writes anything:
   * the browser's invitation may have changed since the sign-up started (where the address was
   * checked), and an invitation for another address must make no account. The new account joins
   * the invitation's groups.
   */
  async signUpWith<T extends { user: { id: string } }>(tenant: Tenant, token: string | undefined, create: (admit: (email: string) => void) => Promise<T>, now = Date.now()): Promise<T> {
    const invitation = await this.requireForSignUp(tenant, token, undefined, now);
    if (!invitation) return create(() => {});
    if (!await this.invitations.takeUse(tenant.id, invitation.id, now)) throw forbidden(INVITATION_SPENT, 'invitation_used_up');
    let created: T;
    try {
      created = await create((email) => checkAddress(invitation, email));
    } catch (error) {
      await this.invitations.returnUse(tenant.id, invitation.id);
      throw error;
    }
    await this.groupMembers.addMember(tenant.id, invitation.groupIds, created.user.id);
    return created;
  }
}

function checkAddress(invitation: Invitation, email: string): void {
  if (invitation.email && invitation.email !== email.trim().toLowerCase()) {
    throw forbidden('This invitation is for another e-mail address. Create the account with the address the invitation was sent to.', 'invitation_for_another_address');
  }
}
