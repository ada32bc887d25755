import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import { lockUser } from './user-lock.js';

export interface StoredCredential {
  tenantId: string;
  id: string;
  userId: string;
  publicKey: Uint8Array;
  signCount: number;
  transports: string[];
  aaguid: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  attestationFormat: string;
  userVerified: boolean;
  createdAt: number;
  lastUsedAt: number | null;
  /** The name the person gave it, or null to show its provider's name. */
  name: string | null;
  /** The security status FIDO metadata reports for its AAGUID (REVOKED …), set when a BLOB is loaded. */
  mdsFlag?: string | null;
  /** For a key imported from FIDO U2F: the AppID it signs under (sign-in through the WebAuthn appid extension). */
  u2fAppId?: string | null;
  /** Its sign count once failed to move forward: the key may have been copied. */
  possiblyCloned?: boolean;
  /** Its attestation was verified to a trusted root at registration. */
  attestationTrusted?: boolean;
  /** The attestation type (none, self, basic, attca, anonca); null for a passkey saved before Sesame recorded it. */
  attestationType?: string | null;
  /** The root its attestation chain reached, and where Sesame had that root from (also when the chain was out of date). */
  attestationRoot?: { source: string; subject: string; fingerprint: string } | null;
  /** Why its attestation is not verified ("the authenticator gave no attestation" …). */
  attestationNote?: string | null;
  /** The FIDO certification level (L1 … L3plus) the metadata gave its model at registration. */
  certificationLevel?: string | null;
  /** Its model's name (FIDO metadata, else the bundled AAGUID list) and icon (a data: URL from the metadata), at registration. */
  authenticatorName?: string | null;
  authenticatorIcon?: string | null;
}

export class CredentialRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(credential: StoredCredential): Promise<void> {
    await this.db.insertInto('credentials').values({
      tenant_id: credential.tenantId,
      id: credential.id,
      user_id: credential.userId,
      public_key: credential.publicKey,
      sign_count: credential.signCount,
      transports: JSON.stringify(credential.transports),
      aaguid: credential.aaguid,
      device_type: credential.deviceType,
      backed_up: credential.backedUp ? 1 : 0,
      attestation_format: credential.attestationFormat,
      user_verified: credential.userVerified ? 1 : 0,
      created_at: credential.createdAt,
      last_used_at: credential.lastUsedAt,
      name: credential.name,
      u2f_app_id: credential.u2fAppId ?? null,
      possibly_cloned: credential.possiblyCloned ? 1 : 0,
      attestation_trusted: credential.attestationTrusted ? 1 : 0,
      attestation_type: credential.attestationType ?? null,
      attestation_root_source: credential.attestationRoot?.source ?? null,
      attestation_root_subject: credential.attestationRoot?.subject ?? null,
      attestation_root_fingerprint: credential.attestationRoot?.fingerprint ?? null,
      attestation_note: credential.attestationNote ?? null,
      certification_level: credential.certificationLevel ?? null,
      authenticator_name: credential.authenticatorName ?? null,
      authenticator_icon: credential.authenticatorIcon ?? null,
    }).execute();
  }

  async find(tenantId: string, id: string): Promise<StoredCredential | undefined> {
    const row = await this.db.selectFrom('credentials').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toCredential(row);
  }

  async listByUser(tenantId: string, userId: string): Promise<StoredCredential[]> {
    const rows = await this.db.selectFrom('credentials').selectAll()
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toCredential);
  }

  /**
   * Deletes one of the user's credentials unless it is their last. Count and delete happen under
   * the user's lock: two removals at once, each seeing two passkeys, would otherwise remove both.
   */
  deleteUnlessLast(tenantId: string, userId: string, id: string): Promise<'deleted' | 'unknown' | 'last'> {
    return this.db.transaction().execute(async (trx) => {
      await lockUser(trx, tenantId, userId);
      const ids = (await trx.selectFrom('credentials').select('id').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute()).map((r) => r.id);
      if (!ids.includes(id)) return 'unknown';
      if (ids.length === 1) return 'last';
      await trx.deleteFrom('credentials').where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('id', '=', id).execute();
      return 'deleted';
    });
  }

  /** Names one of the user's credentials; false when the user has no credential with this id. */
  async rename(tenantId: string, userId: string, id: string, name: string): Promise<boolean> {
    const result = await this.db.updateTable('credentials').set({ name })
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Flags the credential as possibly cloned and records why, in one transaction: the event is the
   * trace (credential_events) an administrator reads until Sesame has an audit log.
   */
  async flagPossiblyCloned(credential: Pick<StoredCredential, 'tenantId' | 'id' | 'userId'>, event: { id: string; detail: Record<string, unknown>; at: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('credentials').set({ possibly_cloned: 1 }).where('tenant_id', '=', credential.tenantId).where('id', '=', credential.id).execute();
      await trx.insertInto('credential_events').values({
        id: event.id, tenant_id: credential.tenantId, credential_id: credential.id, user_id: credential.userId,
        type: 'counter_regressed', detail: JSON.stringify(event.detail), at: event.at,
      }).execute();
    });
  }

  async events(tenantId: string, credentialId: string): Promise<Array<{ type: string; detail: Record<string, unknown>; at: number }>> {
    const rows = await this.db.selectFrom('credential_events').select(['type', 'detail', 'at'])
      .where('tenant_id', '=', tenantId).where('credential_id', '=', credentialId).orderBy('at').execute();
    return rows.map((row) => ({ type: row.type, detail: JSON.parse(row.detail) as Record<string, unknown>, at: Number(row.at) }));
  }

  /**
   * Records a use of the credential, if its counter is still the one the assertion was checked
   * against: of two uses at once, the one that writes second returns false.
   */
  async recordUse(tenantId: string, id: string, previousCount: number, use: { signCount: number; backedUp: boolean; usedAt: number }): Promise<boolean> {
    const result = await this.db.updateTable('credentials')
      .set({ sign_count: use.signCount, backed_up: use.backedUp ? 1 : 0, last_used_at: use.usedAt })
      .where('tenant_id', '=', tenantId).where('id', '=', id).where('sign_count', '=', previousCount)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toCredential(row: Schema['credentials']): StoredCredential {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    userId: row.user_id,
    publicKey: new Uint8Array(row.public_key),
    signCount: Number(row.sign_count),
    transports: JSON.parse(row.transports),
    aaguid: row.aaguid,
    deviceType: row.device_type as StoredCredential['deviceType'],
    backedUp: Boolean(row.backed_up),
    attestationFormat: row.attestation_format,
    userVerified: Boolean(row.user_verified),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    name: row.name,
    mdsFlag: row.mds_flag,
    u2fAppId: row.u2f_app_id,
    possiblyCloned: Number(row.possibly_cloned) === 1,
    attestationTrusted: Number(row.attestation_trusted) === 1,
    attestationType: row.attestation_type,
    attestationRoot: row.attestation_root_fingerprint === null ? null
      : { source: row.attestation_root_source ?? 'mds', subject: row.attestation_root_subject ?? '', fingerprint: row.attestation_root_fingerprint },
    attestationNote: row.attestation_note,
    certificationLevel: row.certification_level,
    authenticatorName: row.authenticator_name,
    authenticatorIcon: row.authenticator_icon,
  };
}
