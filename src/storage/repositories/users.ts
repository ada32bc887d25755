import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface User {
  tenantId: string;
  id: string;
  email: string;
  emailVerified: boolean;
  displayName: string;
  createdAt: number;
  /** Set when an administrator disabled the account (sesame user disable): it signs in nowhere until enabled. */
  disabled?: boolean;
  /** Set when the account was closed for its address's proven owner (design decision 30): it never signs in again. */
  closed?: boolean;
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
      custom_claims: '{}',
    }).execute();
  }

  /** An open account (a closed one is not found: it signs in nowhere and is asserted to nobody). */
  async findById(tenantId: string, id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id)
      .where('disabled_at', 'is', null).executeTakeFirst();
    return row && toUser(row);
  }

  /** Any account by id, a disabled or closed one too (administrators see them all). */
  async findAnyById(tenantId: string, id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  /**
   * A page of the tenant's users whose address or name contains `query` (any case), newest first,
   * with the number of passkeys of each and the number of matches in all.
   */
  async search(tenantId: string, options: { query?: string; limit: number; offset: number }): Promise<{ users: Array<User & { credentialCount: number }>; total: number }> {
    const pattern = options.query ? `%${options.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
    const matching = (eb: ExpressionBuilder<Schema, 'users'>) => eb.and([
      eb('users.tenant_id', '=', tenantId),
      ...(pattern ? [eb.or([
        sql<boolean>`lower(${sql.ref('users.email')}) like ${pattern} escape '\\'`,
        sql<boolean>`lower(${sql.ref('users.display_name')}) like ${pattern} escape '\\'`,
      ])] : []),
    ]);
    const total = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where(matching).executeTakeFirstOrThrow();
    const rows = await this.db.selectFrom('users')
      .select(['users.tenant_id', 'users.id', 'users.email', 'users.email_verified', 'users.display_name', 'users.created_at', 'users.disabled_at'])
      .select((eb) => eb.selectFrom('credentials').select((c) => c.fn.countAll<number>().as('n'))
        .whereRef('credentials.tenant_id', '=', 'users.tenant_id').whereRef('credentials.user_id', '=', 'users.id').as('credential_count'))
      .where(matching)
      .orderBy('users.created_at', 'desc').orderBy('users.id')
      .limit(options.limit).offset(options.offset)
      .execute();
    return { users: rows.map((row) => ({ ...toUser(row), credentialCount: Number(row.credential_count) })), total: Number(total.n) };
  }

  /** Also a disabled account (with `disabled` set): the address stays taken, and callers say why it cannot sign in. */
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

  /** Disables (at `at`) or enables (null) an account; false when there is no such account. */
  async setDisabled(tenantId: string, id: string, at: number | null): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ disabled_at: at })
      .where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Whether the account exists but is disabled by an administrator (closed accounts carry a #closed: address). */
  async isDisabled(tenantId: string, id: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('email').where('tenant_id', '=', tenantId).where('id', '=', id)
      .where('disabled_at', 'is not', null).executeTakeFirst();
    return Boolean(row && !row.email.includes('#closed:'));
  }

  /**
   * Deletes the account and everything kept about it: passkeys, phones, browsers seen, recovery
   * codes and requests, pending e-mail codes, account-page sessions. OIDC sessions are ended by the
   * caller (it needs the passkeys' ids first: SessionRepository.takeSessionsOfUser).
   */
  async deleteWithEverything(tenantId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const table of ['group_members', 'credentials', 'passport_devices', 'passport_enrolment_tokens', 'user_devices', 'recovery_codes', 'recovery_requests', 'recoveries', 'email_verifications', 'account_sessions', 'uaf_registrations'] as const) {
        await trx.deleteFrom(table).where('tenant_id', '=', tenantId).where('user_id', '=', id).execute();
      }
      await trx.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    });
  }

  async listByTenant(tenantId: string): Promise<Array<User & { credentialCount: number }>> {
    const rows = await this.db.selectFrom('users')
      .leftJoin('credentials', (join) => join.onRef('credentials.tenant_id', '=', 'users.tenant_id').onRef('credentials.user_id', '=', 'users.id'))
      .select(['users.tenant_id', 'users.id', 'users.email', 'users.email_verified', 'users.display_name', 'users.created_at', 'users.disabled_at'])
      .select((eb) => eb.fn.count<number>('credentials.id').as('credential_count'))
      .where('users.tenant_id', '=', tenantId)
      .groupBy(['users.tenant_id', 'users.id', 'users.email', 'users.email_verified', 'users.display_name', 'users.created_at', 'users.disabled_at'])
      .orderBy('users.created_at')
      .execute();
    return rows.map((row) => ({ ...toUser(row), credentialCount: Number(row.credential_count) }));
  }
}

function toUser(row: Omit<Schema['users'], 'disabled_at' | 'custom_claims'> & { disabled_at?: number | null }): User {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    email: row.email,
    emailVerified: Boolean(row.email_verified),
    displayName: row.display_name,
    createdAt: Number(row.created_at),
    ...(row.disabled_at != null ? { disabled: true } : {}),
    ...(row.disabled_at != null && row.email.includes('#closed:') ? { closed: true } : {}),
  };
}
