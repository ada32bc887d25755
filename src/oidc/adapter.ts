import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { currentBatch } from '../storage/write-batch.js';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Schema } from '../storage/schema.js';
import type { ClientRepository } from '../storage/repositories/clients.js';
import { clientMetadata } from './client-metadata.js';

/**
 * How a model's id is kept in `oidc_payloads.id`: SHA-256, base64url. Ids of codes, tokens and
 * sessions are bearer secrets; a copy of the database must not hand them out.
 */
export const storedId = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * oidc-provider's storage, one instance per (tenant, model). Every model lives in the
 * `oidc_payloads` table except Client, which is read from our own `clients` table so that a client
 * created with the CLI works at once, without rebuilding the tenant's provider.
 *
 * Ids are stored hashed (storedId) and the payload is stored without its `jti`, which `find` puts
 * back from the id it was asked for, and without an Interaction's copy of its session's id. A
 * payload found by uid or user code therefore has no `jti`: oidc-provider only reads the Session it finds by uid, and the device flow (the one user of
 * findByUserCode, which saves what it finds) is not enabled.
 */
export class SqlAdapter implements Adapter {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly clients: ClientRepository,
    private readonly tenantId: string,
    private readonly model: string,
  ) {}

  /** Kept for the end of the request when it has a write batch (storage/write-batch.ts), like destroy. */
  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const { jti: _secret, ...kept } = payload;
    // An Interaction copies its session's id (the session cookie's value) as `session.cookie`; oidc-provider never reads it back.
    if (kept.session?.cookie) kept.session = { ...kept.session, cookie: undefined };
    const row = {
      payload: JSON.stringify(kept),
      grant_id: payload.grantId ?? null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expires_at: expiresIn ? Date.now() + expiresIn * 1000 : null,
      client_id: clientIdOf(payload),
    };
    const key = storedId(id);
    const write = (db: Kysely<Schema>) => db.insertInto('oidc_payloads')
      .values({ tenant_id: this.tenantId, model: this.model, id: key, consumed_at: null, ...row })
      .onConflict((oc) => oc.columns(['tenant_id', 'model', 'id']).doUpdateSet(row))
      .execute();
    // (oidc-provider never saves again what it consumed: a pending row is not consumed.)
    if (!currentBatch(this.db)?.defer(write, { key: this.pendingKey(key), row: { ...row, consumed_at: null } })) await write(this.db);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (id.includes('\u0000')) return undefined; // see findWhere
    if (this.model === 'Client') {
      const client = await this.clients.find(this.tenantId, id);
      return client && clientMetadata(client);
    }
    const payload = await this.findWhere('id', storedId(id));
    return payload && { ...payload, jti: id };
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere('user_code', userCode);
  }

  /**
   * Single use, also under concurrency. oidc-provider finds a code (or refresh token, or pushed
   * request), checks that it is not consumed, and then consumes it: requests that all find it
   * before any consumes it would all pass that check. The conditional UPDATE lets exactly one of
   * them consume it; the others are answered as a replay — the grant and everything issued from it
   * is revoked, as oidc-provider does when it sees the consumed mark itself.
   */
  async consume(id: string): Promise<void> {
    await currentBatch(this.db)?.commitNow();
    const result = await this.db.updateTable('oidc_payloads').set({ consumed_at: Date.now() })
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where('id', '=', storedId(id))
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) return;
    if (this.model === 'PushedAuthorizationRequest') throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
    const row = await this.db.selectFrom('oidc_payloads').select('grant_id')
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where('id', '=', storedId(id))
      .executeTakeFirst();
    // No row: a concurrent replay revoked the grant already (which deletes its codes and tokens).
    if (row?.grant_id) await this.revokeGrant(row.grant_id);
    throw new errors.InvalidGrant(`${this.model} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    const key = storedId(id);
    const write = (db: Kysely<Schema>) => db.deleteFrom('oidc_payloads')
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where('id', '=', key)
      .execute();
    if (!currentBatch(this.db)?.defer(write, { key: this.pendingKey(key), row: null })) await write(this.db);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await currentBatch(this.db)?.commitNow();
    await this.db.deleteFrom('oidc_payloads').where('tenant_id', '=', this.tenantId).where('grant_id', '=', grantId).execute();
  }

  /** Every token and code of the grant, and the grant itself (tokens of a missing grant are refused). */
  private async revokeGrant(grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('tenant_id', '=', this.tenantId)
      .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', storedId(grantId))])]))
      .execute();
  }

  private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    // Values come from requests (a token, a client_id); none that exists holds a NUL, and PostgreSQL refuses to compare one.
    if (value.includes('\u0000')) return undefined;
    // This request's own writes, not committed yet, are what it must read back.
    const pending = currentBatch(this.db)?.pending;
    if (pending?.size) {
      if (column === 'id') {
        if (pending.has(this.pendingKey(value))) return toPayload(pending.get(this.pendingKey(value)) as PayloadRow | null);
      } else {
        const ours = this.pendingKey('');
        for (const [key, row] of pending) {
          if (key.startsWith(ours) && (row as PayloadRow | null)?.[column] === value) return toPayload(row as PayloadRow);
        }
      }
    }
    const row = await this.db.selectFrom('oidc_payloads').select(['id', 'payload', 'expires_at', 'consumed_at'])
      .where('tenant_id', '=', this.tenantId).where('model', '=', this.model).where(column, '=', value)
      .executeTakeFirst();
    // Found by uid or user code, but deleted (or replaced) by this request.
    if (row && pending?.has(this.pendingKey(row.id))) return toPayload(pending.get(this.pendingKey(row.id)) as PayloadRow | null);
    return toPayload(row);
  }

  /** The key of a row of this tenant and model among a write batch's pending rows. */
  private pendingKey(key: string): string {
    return `oidc_payloads|${this.tenantId}|${this.model}|${key}`;
  }
}

type PayloadRow = Pick<Schema['oidc_payloads'], 'payload' | 'grant_id' | 'user_code' | 'uid' | 'expires_at' | 'consumed_at'>;

function toPayload(row: Pick<PayloadRow, 'payload' | 'expires_at' | 'consumed_at'> | null | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
  return payload;
}

/** A session that was ended: whose it was, and the clients it had signed in to with their `sid` (for back-channel logout). */
export interface EndedSession {
  accountId: string | undefined;
  clients: Array<{ clientId: string; sid: string | undefined }>;
}

/**
 * Ends one OIDC session, found by its uid (its id, the cookie value, is stored only hashed), with
 * every grant it holds and every code and token issued under them, in one transaction.
 */
export async function endOidcSession(db: Kysely<Schema>, tenantId: string, sessionUid: string): Promise<EndedSession | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('oidc_payloads').select('payload')
      .where('tenant_id', '=', tenantId).where('model', '=', 'Session').where('uid', '=', sessionUid)
      .executeTakeFirst();
    if (!row) return undefined;
    const { accountId, authorizations = {} } = JSON.parse(row.payload) as { accountId?: string; authorizations?: Record<string, { grantId?: string; sid?: string }> };
    const grantIds = Object.values(authorizations).flatMap((a) => (a.grantId ? [a.grantId] : []));
    if (grantIds.length) {
      await trx.deleteFrom('oidc_payloads').where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('grant_id', 'in', grantIds), eb.and([eb('model', '=', 'Grant'), eb('id', 'in', grantIds.map(storedId))])]))
        .execute();
    }
    await trx.deleteFrom('oidc_payloads').where('tenant_id', '=', tenantId).where('model', '=', 'Session').where('uid', '=', sessionUid).execute();
    return { accountId, clients: Object.entries(authorizations).map(([clientId, a]) => ({ clientId, sid: a.sid })) };
  });
}

/** The client a payload belongs to (tokens, codes, grants and pushed requests say `clientId`, an interaction its request's `client_id`). */
function clientIdOf(payload: AdapterPayload): string | null {
  if (typeof payload.clientId === 'string') return payload.clientId;
  const requested = (payload.params as { client_id?: unknown } | undefined)?.client_id;
  return typeof requested === 'string' ? requested : null;
}

/** What forgetClient removed. */
export interface ForgottenClient {
  /** Grants, codes, tokens, pushed requests and interactions of the client. */
  payloads: number;
  /** Sessions that had signed in to this client only: ended. */
  sessionsEnded: number;
  /** Sessions that had signed in to other clients too: they go on without this one. */
  sessionsKept: number;
}

/**
 * Removes everything oidc-provider keeps for a deleted client, in one transaction: its grants and
 * every code and token issued under them, its pushed requests and interactions, and its place in
 * people's sessions. A session that had signed in to this client only is ended (with the record of
 * the passkey behind it); one that signed in to other clients too keeps those.
 */
export async function forgetClient(db: Kysely<Schema>, tenantId: string, clientId: string): Promise<ForgottenClient> {
  return db.transaction().execute(async (trx) => {
    // Sessions name their clients as keys of `authorizations`; LIKE only narrows the rows to read, the
    // payload decides. `%` and `\` (an escape in PostgreSQL's LIKE) become `_`, which matches any one character.
    const candidates = await trx.selectFrom('oidc_payloads').select(['id', 'uid', 'payload'])
      .where('tenant_id', '=', tenantId).where('model', '=', 'Session').where('payload', 'like', `%${JSON.stringify(clientId).replace(/[%\\]/g, '_')}:%`)
      .execute();
    const grantIds: string[] = [];
    let sessionsEnded = 0;
    let sessionsKept = 0;
    for (const row of candidates) {
      const session = JSON.parse(row.payload) as { authorizations?: Record<string, { grantId?: string }> };
      const authorization = session.authorizations?.[clientId];
      if (!authorization) continue;
      if (authorization.grantId) grantIds.push(authorization.grantId);
      delete session.authorizations![clientId];
      if (Object.keys(session.authorizations!).length === 0) {
        await trx.deleteFrom('oidc_payloads').where('tenant_id', '=', tenantId).where('model', '=', 'Session').where('id', '=', row.id).execute();
        if (row.uid) await trx.deleteFrom('oidc_session_credentials').where('tenant_id', '=', tenantId).where('session_uid', '=', row.uid).execute();
        sessionsEnded += 1;
      } else {
        await trx.updateTable('oidc_payloads').set({ payload: JSON.stringify(session) })
          .where('tenant_id', '=', tenantId).where('model', '=', 'Session').where('id', '=', row.id).execute();
        sessionsKept += 1;
      }
    }
    const removed = await trx.deleteFrom('oidc_payloads').where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([
        eb('client_id', '=', clientId),
        ...(grantIds.length ? [eb('grant_id', 'in', grantIds), eb.and([eb('model', '=', 'Grant'), eb('id', 'in', grantIds.map(storedId))])] : []),
      ]))
      .executeTakeFirst();
    return { payloads: Number(removed.numDeletedRows), sessionsEnded, sessionsKept };
  });
}

/** Removes expired rows; called periodically, never on a request path. */
export async function purgeExpiredOidcPayloads(db: Kysely<Schema>, now = Date.now()): Promise<void> {
  await db.deleteFrom('oidc_payloads').where('expires_at', '<', now).execute();
}
