import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface Invitation {
  id: string;
  tenantId: string;
  /** Only this address may sign up with it, when set. */
  email: string | null;
  /** Groups the new account joins. */
  groupIds: string[];
  maxUses: number;
  uses: number;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** Sign-up invitations; only the SHA-256 of each token is kept. */
export class InvitationRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(invitation: Invitation, tokenHash: string): Promise<void> {
    await this.db.insertInto('invitations').values({
      id: invitation.id, tenant_id: invitation.tenantId, token_hash: tokenHash, email: invitation.email, groups: JSON.stringify(invitation.groupIds),
      max_uses: invitation.maxUses, uses: 0, created_at: invitation.createdAt, expires_at: invitation.expiresAt, revoked_at: null,
    }).execute();
  }

  async list(tenantId: string): Promise<Invitation[]> {
    return (await this.db.selectFrom('invitations').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('id').execute()).map(toInvitation);
  }

  async find(tenantId: string, id: string): Promise<Invitation | undefined> {
    const row = await this.db.selectFrom('invitations').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toInvitation(row);
  }

  /** Whether the token is one of the tenant's invitations, usable or not. */
  async exists(tenantId: string, tokenHash: string): Promise<boolean> {
    return (await this.db.selectFrom('invitations').select('id').where('tenant_id', '=', tenantId).where('token_hash', '=', tokenHash).executeTakeFirst()) !== undefined;
  }

  /** The invitation of this token if it can still be used (not used up, expired or revoked). */
  async findUsable(tenantId: string, tokenHash: string, now: number): Promise<Invitation | undefined> {
    const row = await this.db.selectFrom('invitations').selectAll().where('tenant_id', '=', tenantId).where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null).where('expires_at', '>', now).whereRef('uses', '<', 'max_uses').executeTakeFirst();
    return row && toInvitation(row);
  }

  /**
   * Takes one use, in one conditional UPDATE: of any number of sign-ups at once, at most
   * max_uses get the invitation, on SQLite and PostgreSQL alike.
   */
  async takeUse(tenantId: string, id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('invitations').set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('tenant_id', '=', tenantId).where('id', '=', id)
      .where('revoked_at', 'is', null).where('expires_at', '>', now).whereRef('uses', '<', 'max_uses')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives back a use taken by a sign-up that then failed. */
  async returnUse(tenantId: string, id: string): Promise<void> {
    await this.db.updateTable('invitations').set((eb) => ({ uses: eb('uses', '-', 1) }))
      .where('tenant_id', '=', tenantId).where('id', '=', id).where('uses', '>', 0).execute();
  }

  async revoke(tenantId: string, id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('invitations').set({ revoked_at: now })
      .where('tenant_id', '=', tenantId).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toInvitation(row: Schema['invitations']): Invitation {
  return {
    id: row.id, tenantId: row.tenant_id, email: row.email, groupIds: JSON.parse(row.groups) as string[], maxUses: Number(row.max_uses), uses: Number(row.uses),
    createdAt: Number(row.created_at), expiresAt: Number(row.expires_at), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}
