import type { Kysely } from 'kysely';
import { isForeignKeyViolation } from '../constraint-errors.js';
import type { Schema } from '../schema.js';
import type { ClaimValues } from '../../accounts/custom-claims.js';

export interface Group {
  tenantId: string;
  id: string;
  name: string;
  claims: ClaimValues;
  createdAt: number;
  memberCount: number;
}

export interface ClaimDefinition {
  name: string;
  type: string;
  createdAt: number;
}

/** Groups, their members, and the custom claims of users and groups. */
export class GroupRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(group: Omit<Group, 'memberCount'>): Promise<void> {
    await this.db.insertInto('groups').values({
      tenant_id: group.tenantId, id: group.id, name: group.name, claims: JSON.stringify(group.claims), created_at: group.createdAt,
    }).execute();
  }

  async list(tenantId: string): Promise<Group[]> {
    const rows = await this.db.selectFrom('groups').selectAll()
      .select((eb) => eb.selectFrom('group_members').select((m) => m.fn.countAll<number>().as('n'))
        .whereRef('group_members.tenant_id', '=', 'groups.tenant_id').whereRef('group_members.group_id', '=', 'groups.id').as('member_count'))
      .where('tenant_id', '=', tenantId).orderBy('name').execute();
    return rows.map((row) => toGroup(row, Number(row.member_count)));
  }

  async find(tenantId: string, id: string): Promise<Group | undefined> {
    return (await this.list(tenantId)).find((g) => g.id === id);
  }

  async findByName(tenantId: string, name: string): Promise<{ id: string } | undefined> {
    return this.db.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
  }

  async update(tenantId: string, id: string, change: { name?: string; claims?: ClaimValues }): Promise<void> {
    await this.db.updateTable('groups')
      .set({ ...(change.name !== undefined ? { name: change.name } : {}), ...(change.claims !== undefined ? { claims: JSON.stringify(change.claims) } : {}) })
      .where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('group_id', '=', id).execute();
      await trx.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    });
  }

  /**
   * Adds the user to those of the groups that exist (those they are in already stay). Taken from
   * the groups table in the same statement: an invitation may name a group deleted since, which
   * must not fail the sign-up it belongs to. A group or the user deleted by another request while
   * this statement runs breaks a foreign key: tried once more (groups gone since are then left
   * out); false when the user is gone.
   */
  async addMember(tenantId: string, groupIds: string[], userId: string): Promise<boolean> {
    if (groupIds.length === 0) return true;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.db.insertInto('group_members').columns(['tenant_id', 'group_id', 'user_id'])
          .expression(this.db.selectFrom('groups').select((eb) => ['tenant_id', 'id', eb.val(userId).as('user_id')]).where('tenant_id', '=', tenantId).where('id', 'in', groupIds))
          .onConflict((oc) => oc.doNothing()).execute();
        return true;
      } catch (error) {
        if (!isForeignKeyViolation(error)) throw error;
        if (attempt === 2) return false;
      }
    }
  }

  async removeMember(tenantId: string, groupId: string, userId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async members(tenantId: string, groupId: string): Promise<Array<{ id: string; email: string; displayName: string }>> {
    const rows = await this.db.selectFrom('group_members').innerJoin('users', (j) => j.onRef('users.tenant_id', '=', 'group_members.tenant_id').onRef('users.id', '=', 'group_members.user_id'))
      .select(['users.id', 'users.email', 'users.display_name']).where('group_members.tenant_id', '=', tenantId).where('group_members.group_id', '=', groupId)
      .orderBy('users.email').execute();
    return rows.map((r) => ({ id: r.id, email: r.email, displayName: r.display_name }));
  }

  /** The user's groups, by name. */
  async groupsOf(tenantId: string, userId: string): Promise<Array<{ id: string; name: string; claims: ClaimValues }>> {
    const rows = await this.db.selectFrom('groups').innerJoin('group_members', (j) => j.onRef('group_members.tenant_id', '=', 'groups.tenant_id').onRef('group_members.group_id', '=', 'groups.id'))
      .select(['groups.id', 'groups.name', 'groups.claims']).where('groups.tenant_id', '=', tenantId).where('group_members.user_id', '=', userId)
      .orderBy('groups.name').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, claims: JSON.parse(r.claims) as ClaimValues }));
  }

  async isMemberOfAny(tenantId: string, userId: string, groupIds: string[]): Promise<boolean> {
    if (groupIds.length === 0) return false;
    const row = await this.db.selectFrom('group_members').select('group_id').where('tenant_id', '=', tenantId).where('user_id', '=', userId)
      .where('group_id', 'in', groupIds).executeTakeFirst();
    return row !== undefined;
  }

  async existing(tenantId: string, groupIds: string[]): Promise<string[]> {
    if (groupIds.length === 0) return [];
    return (await this.db.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('id', 'in', groupIds).execute()).map((r) => r.id);
  }

  async userClaims(tenantId: string, userId: string): Promise<ClaimValues | undefined> {
    const row = await this.db.selectFrom('users').select('custom_claims').where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
    return row && JSON.parse(row.custom_claims) as ClaimValues;
  }

  async setUserClaims(tenantId: string, userId: string, claims: ClaimValues): Promise<void> {
    await this.db.updateTable('users').set({ custom_claims: JSON.stringify(claims) }).where('tenant_id', '=', tenantId).where('id', '=', userId).execute();
  }

  async definitions(tenantId: string): Promise<ClaimDefinition[]> {
    const rows = await this.db.selectFrom('claim_definitions').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, type: r.type, createdAt: Number(r.created_at) }));
  }

  async upsertDefinition(tenantId: string, definition: ClaimDefinition): Promise<void> {
    await this.db.insertInto('claim_definitions').values({ tenant_id: tenantId, name: definition.name, type: definition.type, created_at: definition.createdAt })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ type: definition.type })).execute();
  }

  async deleteDefinition(tenantId: string, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('claim_definitions').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function toGroup(row: Schema['groups'], memberCount: number): Group {
  return { tenantId: row.tenant_id, id: row.id, name: row.name, claims: JSON.parse(row.claims) as ClaimValues, createdAt: Number(row.created_at), memberCount };
}
