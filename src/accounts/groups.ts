import { randomId } from '../ids.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Group, GroupRepository } from '../storage/repositories/groups.js';
import type { UserRepository } from '../storage/repositories/users.js';
import type { CustomClaims } from './custom-claims.js';

export const MAX_GROUP_NAME_LENGTH = 100;

/**
 * A tenant's groups: their members, their custom claims (CustomClaims checks them), and the
 * clients that admit only some groups' members (ClientAdministration.setAccess).
 */
export class GroupService {
  constructor(
    private readonly groups: GroupRepository,
    private readonly users: UserRepository,
    private readonly claims: CustomClaims,
    private readonly audit: AuditLog,
  ) {}

  list(tenantId: string): Promise<Group[]> {
    return this.groups.list(tenantId);
  }

  async get(tenantId: string, groupId: string): Promise<Group & { members: Array<{ id: string; email: string; displayName: string }> }> {
    const group = await this.require(tenantId, groupId);
    return { ...group, members: await this.groups.members(tenantId, groupId) };
  }

  async create(tenantId: string, input: { name: string; claims?: Record<string, unknown> }, now = Date.now()): Promise<Group> {
    const name = checkName(input.name);
    if (await this.groups.findByName(tenantId, name)) throw conflict(`Tenant "${tenantId}" has a group called "${name}" already.`, 'group_exists');
    const claims = await this.claims.check(tenantId, input.claims ?? {});
    const group = { tenantId, id: randomId(9), name, claims, createdAt: now };
    await this.groups.insert(group);
    await this.audit.record({ type: 'admin.group_created', tenantId, detail: { groupId: group.id, name } });
    return { ...group, memberCount: 0 };
  }

  async update(tenantId: string, groupId: string, change: { name?: string; claims?: Record<string, unknown> }): Promise<Group> {
    await this.require(tenantId, groupId);
    const name = change.name === undefined ? undefined : checkName(change.name);
    if (name !== undefined) {
      const holder = await this.groups.findByName(tenantId, name);
      if (holder && holder.id !== groupId) throw conflict(`Tenant "${tenantId}" has a group called "${name}" already.`, 'group_exists');
    }
    const claims = change.claims === undefined ? undefined : await this.claims.check(tenantId, change.claims);
    await this.groups.update(tenantId, groupId, { name, claims });
    await this.audit.record({ type: 'admin.group_changed', tenantId, detail: { groupId, ...(name ? { name } : {}), ...(claims ? { claims: Object.keys(claims) } : {}) } });
    return this.require(tenantId, groupId);
  }

  async delete(tenantId: string, groupId: string): Promise<void> {
    const group = await this.require(tenantId, groupId);
    await this.groups.delete(tenantId, groupId);
    await this.audit.record({ type: 'admin.group_deleted', tenantId, detail: { groupId, name: group.name } });
  }

  async addMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.require(tenantId, groupId);
    const user = await this.users.findAnyById(tenantId, userId);
    if (!user) throw notFound(`Tenant "${tenantId}" has no user with the id ${userId}.`, 'unknown_user');
    // Checked above, but another request may delete the account meanwhile: then it is not found either.
    if (!await this.groups.addMember(tenantId, [groupId], userId)) throw notFound(`Tenant "${tenantId}" has no user with the id ${userId}.`, 'unknown_user');
    await this.audit.record({ type: 'admin.group_changed', tenantId, userId, detail: { groupId, added: userId } });
  }

  async removeMember(tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.require(tenantId, groupId);
    if (!await this.groups.removeMember(tenantId, groupId, userId)) throw notFound(`User ${userId} is not a member of this group.`, 'not_a_member');
    await this.audit.record({ type: 'admin.group_changed', tenantId, userId, detail: { groupId, removed: userId } });
  }

  groupsOf(tenantId: string, userId: string): Promise<Array<{ id: string; name: string }>> {
    return this.groups.groupsOf(tenantId, userId).then((groups) => groups.map(({ id, name }) => ({ id, name })));
  }

  /** Throws unless every id names a group of the tenant (clients and invitations refer to them). */
  async requireGroups(tenantId: string, groupIds: string[]): Promise<string[]> {
    const unique = [...new Set(groupIds)];
    const found = new Set(await this.groups.existing(tenantId, unique));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) throw badRequest(`Tenant "${tenantId}" has no group ${missing.map((m) => `"${m}"`).join(', ')}.`, 'unknown_group');
    return unique;
  }

  private async require(tenantId: string, groupId: string): Promise<Group> {
    const group = await this.groups.find(tenantId, groupId);
    if (!group) throw notFound(`Tenant "${tenantId}" has no group "${groupId}".`, 'unknown_group');
    return group;
  }
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (!name || name.length > MAX_GROUP_NAME_LENGTH) throw badRequest(`A group's name has 1 to ${MAX_GROUP_NAME_LENGTH} characters.`, 'invalid_name');
  return name;
}
