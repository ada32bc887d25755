import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';

export const INVITATION_KINDS = ['operator', 'tenant-admin', 'new-tenant', 'organisation'] as const;
export type InvitationKind = (typeof INVITATION_KINDS)[number];

export interface Invitation {
  id: string;
  tokenHash: string;
  kind: InvitationKind;
  email: string;
  tenantId: string | null;
  tenantName: string | null;
  invitedBy: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface PendingTenant {
  id: string;
  name: string;
  adminEmail: string;
  invitationId: string;
  createdAt: number;
  expiresAt: number;
}

/** One-time links (src/admin/admin-tables.ts says which kinds) and the tenant ids onboardings hold. */
export class InvitationRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(invitation: Invitation): Promise<void> {
    await this.db.insertInto('admin_invitations').values({
      id: invitation.id,
      token_hash: invitation.tokenHash,
      kind: invitation.kind,
      email: invitation.email,
      tenant_id: invitation.tenantId,
      tenant_name: invitation.tenantName,
      invited_by: invitation.invitedBy,
      created_at: invitation.createdAt,
      expires_at: invitation.expiresAt,
      used_at: null,
    }).execute();
  }

  /** The invitation of a link, if it can still be used. */
  async findUsable(tokenHash: string, now: number): Promise<Invitation | undefined> {
    const row = await this.db.selectFrom('admin_invitations').selectAll()
      .where('token_hash', '=', tokenHash).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    return row && toInvitation(row);
  }

  /**
   * Uses the invitation: one conditional UPDATE, so of any number of concurrent uses (on any node)
   * exactly one gets true.
   */
  async use(id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('admin_invitations').set({ used_at: now })
      .where('id', '=', id).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Invitations to administer a tenant that can still be used, newest first. */
  async listOpen(tenantId: string, kind: InvitationKind, now: number): Promise<Invitation[]> {
    const rows = await this.db.selectFrom('admin_invitations').selectAll()
      .where('tenant_id', '=', tenantId).where('kind', '=', kind).where('used_at', 'is', null).where('expires_at', '>', now)
      .orderBy('created_at', 'desc').execute();
    return rows.map(toInvitation);
  }

  /** Withdraws an unused invitation of the tenant (it expires now). */
  async withdraw(id: string, tenantId: string, kind: InvitationKind, now: number): Promise<boolean> {
    const result = await this.db.updateTable('admin_invitations').set({ expires_at: now })
      .where('id', '=', id).where('tenant_id', '=', tenantId).where('kind', '=', kind).where('used_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Holds a tenant id for an onboarding: inserted, or taken over from an onboarding that expired, in
   * one statement. False when another onboarding holds it (of two applications for one id at once,
   * exactly one gets it).
   */
  async holdTenantId(pending: PendingTenant, now: number): Promise<boolean> {
    const row = await this.db.insertInto('pending_tenants').values({
      id: pending.id, name: pending.name, admin_email: pending.adminEmail, invitation_id: pending.invitationId,
      created_at: pending.createdAt, expires_at: pending.expiresAt,
    }).onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({
      name: eb.ref('excluded.name'),
      admin_email: eb.ref('excluded.admin_email'),
      invitation_id: eb.ref('excluded.invitation_id'),
      created_at: eb.ref('excluded.created_at'),
      expires_at: eb.ref('excluded.expires_at'),
    })).where('pending_tenants.expires_at', '<=', now))
      .returning('invitation_id')
      .executeTakeFirst();
    return row?.invitation_id === pending.invitationId;
  }

  async isTenantIdHeld(id: string, now: number): Promise<boolean> {
    const row = await this.db.selectFrom('pending_tenants').select('id').where('id', '=', id).where('expires_at', '>', now).executeTakeFirst();
    return row !== undefined;
  }

  async releaseTenantId(id: string): Promise<void> {
    await this.db.deleteFrom('pending_tenants').where('id', '=', id).execute();
  }

  /** Expired onboardings and links, used links (their record is the audit log). */
  async purge(now: number): Promise<void> {
    await this.db.deleteFrom('pending_tenants').where('expires_at', '<=', now).execute();
    await this.db.deleteFrom('admin_invitations').where((eb) => eb.or([eb('expires_at', '<=', now), eb('used_at', 'is not', null)])).execute();
  }
}

function toInvitation(row: {
  id: string; token_hash: string; kind: string; email: string; tenant_id: string | null; tenant_name: string | null;
  invited_by: string; created_at: number; expires_at: number; used_at: number | null;
}): Invitation {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    kind: row.kind as InvitationKind,
    email: row.email,
    tenantId: row.tenant_id,
    tenantName: row.tenant_name,
    invitedBy: row.invited_by,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}
