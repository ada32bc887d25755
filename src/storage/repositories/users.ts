import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface User {
  tenantId: string;
  id: string;
  email: string;
  emailVerified: boolean;
  displayName: string;
  createdAt: number;
}

export class UserRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(user: User): Promise<void> {
    await this.db.insertInto('users').values({
      tenant_id: user.tenantId,
      id: user.id,
      email: user.email,
      email_verified: user.emailVerified ? 1 : 0,
      display_name: user.displayName,
      created_at: user.createdAt,
    }).execute();
  }

  /** An open account (a closed one is not found: it signs in nowhere and is asserted to nobody). */
  async findById(tenantId: string, id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id)
      .where('disabled_at', 'is', null).executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(tenantId: string, email: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('email', '=', email).executeTakeFirst();
    return row && toUser(row);
  }

  /** The account's address is now `email`, proved by its owner. */
  async setVerifiedEmail(tenantId: string, id: string, email: string): Promise<void> {
    await this.db.updateTable('users').set({ email, email_verified: 1 }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  /**
   * Closes the account that holds `email` without having proved it, so that the address's proven
   * owner can have it: the account stops signing in, and its address is kept with a suffix (the
   * address must be free for the new account, and the record should still say whose it was).
   */
  async closeUnverified(tenantId: string, email: string, now: number): Promise<string | undefined> {
    const user = await this.db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('email', '=', email)
      .where('email_verified', '=', 0).where('disabled_at', 'is', null).executeTakeFirst();
    if (!user) return undefined;
    await this.db.updateTable('users').set({ email: `${email}#closed:${user.id}`, disabled_at: now })
      .where('tenant_id', '=', tenantId).where('id', '=', user.id).where('email_verified', '=', 0).execute();
    return user.id;
  }

  async listByTenant(tenantId: string): Promise<Array<User & { credentialCount: number }>> {
    const rows = await this.db.selectFrom('users')
      .leftJoin('credentials', (join) => join.onRef('credentials.tenant_id', '=', 'users.tenant_id').onRef('credentials.user_id', '=', 'users.id'))
      .select(['users.tenant_id', 'users.id', 'users.email', 'users.email_verified', 'users.display_name', 'users.created_at'])
      .select((eb) => eb.fn.count<number>('credentials.id').as('credential_count'))
      .where('users.tenant_id', '=', tenantId)
      .groupBy(['users.tenant_id', 'users.id', 'users.email', 'users.email_verified', 'users.display_name', 'users.created_at'])
      .orderBy('users.created_at')
      .execute();
    return rows.map((row) => ({ ...toUser(row), credentialCount: Number(row.credential_count) }));
  }
}

function toUser(row: Omit<Schema['users'], 'disabled_at'>): User {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    email: row.email,
    emailVerified: Boolean(row.email_verified),
    displayName: row.display_name,
    createdAt: Number(row.created_at),
  };
}
