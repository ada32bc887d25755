import type { Kysely } from 'kysely';
import type { Schema } from '../storage/schema.js';

/** The scope of an operator administrator (every tenant), in admins.tenant_id. */
export const OPERATOR_SCOPE = '*';

export interface Admin {
  id: string;
  email: string;
  /** The tenant administered, or OPERATOR_SCOPE. */
  tenantId: string;
  createdAt: number;
}

export interface AdminCredential {
  id: string;
  adminId: string;
  publicKey: Uint8Array;
  signCount: number;
  transports: string[];
  aaguid: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AdminSessionRow {
  idHash: string;
  adminId: string;
  credentialId: string;
  createdAt: number;
  expiresAt: number;
}

/** Administrators, their passkeys and their console sessions. */
export class AdminRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insertAdmin(admin: Admin): Promise<void> {
    await this.db.insertInto('admins').values({ id: admin.id, email: admin.email, tenant_id: admin.tenantId, created_at: admin.createdAt }).execute();
  }

  async findAdmin(id: string): Promise<Admin | undefined> {
    const row = await this.db.selectFrom('admins').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAdmin(row);
  }

  async findByEmail(tenantId: string, email: string): Promise<Admin | undefined> {
    const row = await this.db.selectFrom('admins').selectAll().where('tenant_id', '=', tenantId).where('email', '=', email).executeTakeFirst();
    return row && toAdmin(row);
  }

  async listByScope(tenantId: string): Promise<Array<Admin & { passkeys: number; lastSignInAt: number | null }>> {
    const rows = await this.db.selectFrom('admins')
      .leftJoin('admin_credentials', 'admin_credentials.admin_id', 'admins.id')
      .select(['admins.id', 'admins.email', 'admins.tenant_id', 'admins.created_at'])
      .select((eb) => [eb.fn.count<number>('admin_credentials.id').as('passkeys'), eb.fn.max('admin_credentials.last_used_at').as('last_used_at')])
      .where('admins.tenant_id', '=', tenantId)
      .groupBy(['admins.id', 'admins.email', 'admins.tenant_id', 'admins.created_at'])
      .orderBy('admins.email')
      .execute();
    return rows.map((r) => ({ ...toAdmin(r), passkeys: Number(r.passkeys), lastSignInAt: r.last_used_at === null ? null : Number(r.last_used_at) }));
  }

  /** Deletes the administrator with their passkeys and sessions (foreign keys cascade). */
  async deleteAdmin(id: string): Promise<boolean> {
    await this.db.deleteFrom('admin_sessions').where('admin_id', '=', id).execute();
    await this.db.deleteFrom('admin_credentials').where('admin_id', '=', id).execute();
    const result = await this.db.deleteFrom('admins').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async insertCredential(credential: AdminCredential): Promise<void> {
    await this.db.insertInto('admin_credentials').values({
      id: credential.id,
      admin_id: credential.adminId,
      public_key: credential.publicKey,
      sign_count: credential.signCount,
      transports: JSON.stringify(credential.transports),
      aaguid: credential.aaguid,
      device_type: credential.deviceType,
      backed_up: credential.backedUp ? 1 : 0,
      created_at: credential.createdAt,
      last_used_at: credential.lastUsedAt,
    }).execute();
  }

  async findCredential(id: string): Promise<AdminCredential | undefined> {
    const row = await this.db.selectFrom('admin_credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return row && {
      id: row.id,
      adminId: row.admin_id,
      publicKey: new Uint8Array(row.public_key),
      signCount: Number(row.sign_count),
      transports: JSON.parse(row.transports) as string[],
      aaguid: row.aaguid,
      deviceType: row.device_type as AdminCredential['deviceType'],
      backedUp: row.backed_up === 1,
      createdAt: Number(row.created_at),
      lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    };
  }

  async credentialIdsOf(adminId: string): Promise<Array<{ id: string; transports: string[] }>> {
    const rows = await this.db.selectFrom('admin_credentials').select(['id', 'transports']).where('admin_id', '=', adminId).execute();
    return rows.map((r) => ({ id: r.id, transports: JSON.parse(r.transports) as string[] }));
  }

  /** Compare-and-set of the sign count: false when another sign-in with the same passkey got there first. */
  async recordUse(id: string, previousCount: number, newCount: number, now: number): Promise<boolean> {
    const result = await this.db.updateTable('admin_credentials').set({ sign_count: newCount, last_used_at: now })
      .where('id', '=', id).where('sign_count', '=', previousCount).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertSession(session: AdminSessionRow): Promise<void> {
    await this.db.insertInto('admin_sessions').values({
      id_hash: session.idHash, admin_id: session.adminId, credential_id: session.credentialId, created_at: session.createdAt, expires_at: session.expiresAt,
    }).execute();
  }

  async findSession(idHash: string, now: number): Promise<AdminSessionRow | undefined> {
    const row = await this.db.selectFrom('admin_sessions').selectAll().where('id_hash', '=', idHash).where('expires_at', '>', now).executeTakeFirst();
    return row && { idHash: row.id_hash, adminId: row.admin_id, credentialId: row.credential_id, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
  }

  async purgeExpiredSessions(now: number): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('expires_at', '<=', now).execute();
  }
}

function toAdmin(row: { id: string; email: string; tenant_id: string; created_at: number }): Admin {
  return { id: row.id, email: row.email, tenantId: row.tenant_id, createdAt: Number(row.created_at) };
}
