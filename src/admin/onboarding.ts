import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';
import type { OnboardingMode } from '../config.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import { randomId } from '../ids.js';
import type { TenantService } from '../tenants/tenant-service.js';
import { tenantIdProblem } from '../tenants/tenant-id.js';
import type { MailService } from '../mail/mail-service.js';
import { OPERATOR_MAIL } from '../mail/mail-service.js';
import { networkOf, type KeyedRateLimit } from '../http/middleware/rate-limit.js';
import { INVITATION_TTL_MS, sha256, type AdminAccounts } from './admin-accounts.js';
import { InvitationRepository, type Invitation } from './invitation-repository.js';

export interface TenantIdCheck {
  id: string;
  available: boolean;
  /** Why it is not available, said to the person. */
  problem?: string;
}

export interface Application {
  organisation: string;
  tenantId: string;
  email: string;
  /** The token of a `sesame tenant invite` link (required when ONBOARDING=invite). */
  invitation?: string;
  /** The client address (open onboarding is limited per network). */
  ip: string;
}

const INVITATION_INVALID = 'This invitation link has expired or was already used. Ask the people who run this service for a new one.';

/**
 * Tenant onboarding: an organisation applies with its name, a tenant id and its administrator's
 * address; the id is held for 24 hours and a link is mailed. Following it, the administrator
 * creates the console's passkey and the tenant is made (AdminAccounts.finishEnrolment).
 */
export class Onboarding {
  private readonly invitations: InvitationRepository;

  constructor(
    db: Kysely<Schema>,
    private readonly options: { mode: OnboardingMode; publicUrl: string },
    private readonly tenants: TenantService,
    private readonly accounts: AdminAccounts,
    private readonly mail: MailService,
    private readonly limits: { perNetwork: KeyedRateLimit; perDomain: KeyedRateLimit },
  ) {
    this.invitations = new InvitationRepository(db);
  }

  get mode(): OnboardingMode {
    return this.options.mode;
  }

  /** Whether the form may be shown (off: it does not exist; invite: only with a link's token). */
  requireOpen(): void {
    if (this.options.mode === 'off') throw notFound('There is nothing at this address.');
  }

  /** The invitation of a `sesame tenant invite` link, if it can still be used. */
  async organisationInvitation(token: string | undefined, now = Date.now()): Promise<Invitation | undefined> {
    if (!token) return undefined;
    const invitation = await this.invitations.findUsable(sha256(token), now);
    return invitation?.kind === 'organisation' ? invitation : undefined;
  }

  /** Format, reserved names, existing tenants and ids held by other onboardings. */
  async checkTenantId(id: string, now = Date.now()): Promise<TenantIdCheck> {
    const problem = tenantIdProblem(id);
    if (problem) return { id, available: false, problem };
    if (await this.tenants.findTenant(id) || await this.invitations.isTenantIdHeld(id, now)) {
      return { id, available: false, problem: `"${id}" is already taken. Choose another tenant id.` };
    }
    return { id, available: true };
  }

  /**
   * Holds the tenant id and mails the verification link. Open applications count against the
   * client's network and the address's domain (per hour) before anything else happens.
   */
  async apply(application: Application, now = Date.now()): Promise<{ expiresAt: number }> {
    this.requireOpen();
    const invitation = await this.organisationInvitation(application.invitation, now);
    if (application.invitation && !invitation) throw forbidden(INVITATION_INVALID, 'invitation_invalid');
    if (this.options.mode === 'invite' && !invitation) {
      throw forbidden('Setting up a tenant here needs an invitation. Ask the people who run this service for an invitation link.', 'invitation_required');
    }
    if (!invitation) {
      await this.limits.perNetwork.consume(networkOf(application.ip), now);
      await this.limits.perDomain.consume(application.email.slice(application.email.lastIndexOf('@') + 1), now);
    }
    const malformed = tenantIdProblem(application.tenantId);
    if (malformed) throw badRequest(malformed, 'invalid_tenant_id');
    const check = await this.checkTenantId(application.tenantId, now);
    if (!check.available) throw conflict(check.problem!, 'tenant_id_unavailable');

    const token = randomId(32);
    const verification: Invitation = {
      id: randomId(16), tokenHash: sha256(token), kind: 'new-tenant', email: application.email, tenantId: application.tenantId,
      tenantName: application.organisation, invitedBy: invitation ? `invitation:${invitation.id}` : 'onboarding', createdAt: now,
      expiresAt: now + INVITATION_TTL_MS, usedAt: null,
    };
    const held = await this.invitations.holdTenantId({
      id: application.tenantId, name: application.organisation, adminEmail: application.email, invitationId: verification.id, createdAt: now, expiresAt: verification.expiresAt,
    }, now);
    if (!held) throw conflict(`"${application.tenantId}" is already taken. Choose another tenant id.`, 'tenant_id_unavailable');
    if (invitation && !await this.invitations.use(invitation.id, now)) {
      await this.invitations.releaseTenantId(application.tenantId);
      throw forbidden(INVITATION_INVALID, 'invitation_invalid');
    }
    await this.invitations.insert(verification);
    await this.mail.enqueue({
      tenantId: OPERATOR_MAIL, to: application.email, template: 'onboarding-verify',
      data: { link: this.accounts.linkFor('new-tenant', token), expiresInHours: INVITATION_TTL_MS / 3600_000, organisation: application.organisation, tenantId: application.tenantId },
    });
    return { expiresAt: verification.expiresAt };
  }

  /** `sesame tenant invite <email>`: a link to the form, mailed and returned (for the CLI to print). */
  async invite(email: string): Promise<{ link: string; expiresAt: number }> {
    if (this.options.mode === 'off') {
      throw forbidden('Onboarding is off (ONBOARDING=off): an invitation link would lead nowhere. Set ONBOARDING=invite (or open) on the server first.', 'onboarding_off');
    }
    const { invitation, link } = await this.accounts.createInvitation({ kind: 'organisation', email, invitedBy: 'cli' });
    await this.mail.enqueue({ tenantId: OPERATOR_MAIL, to: invitation.email, template: 'onboarding-invite', data: { link, expiresInHours: INVITATION_TTL_MS / 3600_000 } });
    return { link, expiresAt: invitation.expiresAt };
  }
}
