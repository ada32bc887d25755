import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import { randomId } from '../../ids.js';
import { lockUser } from './user-lock.js';

type CrossDeviceEvent = { tenantId: string; requestId: string; userId?: string | null; deviceId?: string | null; type: string; detail?: string; at: number };

export type CrossDeviceStatus = 'pending' | 'approved' | 'denied' | 'failed' | 'cancelled' | 'expired' | 'completed';
/** Why a request is `failed`: a wrong number was picked, or the phone had no passkey for the account. */
export type FailureReason = 'wrong_number' | 'no_passkey_on_phone';

export interface CrossDeviceRequest {
  id: string;
  tenantId: string;
  interactionUid: string;
  browserBinding: string;
  kind: 'qr' | 'push';
  userId: string | null;
  number: number;
  choices: number[];
  status: CrossDeviceStatus;
  numberConfirmed: boolean;
  clientName: string;
  desktopUserAgent: string;
  desktopIp: string;
  approvedUserId: string | null;
  approvedAmr: string[] | null;
  createdAt: number;
  expiresAt: number;
  resolvedAt: number | null;
  failureReason: FailureReason | null;
}

/** The push-bombing rules, checked together under the user's lock. */
export interface PushLimits {
  perMinute: number;
  perDay: number;
  /** After the person turns a request down (deny, or a wrong number), no push for this long. */
  pauseAfterRefusalMs: number;
}

/** Why a push was not sent, and from when one may be sent again. */
export type PushRefusal = { reason: 'refused_recently' | 'per_minute' | 'per_day'; retryAt: number };

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;

export class CrossDeviceRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(r: CrossDeviceRequest): Promise<void> {
    await insertRequest(this.db, r);
  }

  /**
   * Inserts a push request and its `push_requested` event unless a limit says no: the user turned
   * a request down recently, or already had `perMinute` pushes in the last minute or `perDay` in
   * the last 24 hours. Checks and insert happen under the user's lock, so simultaneous requests
   * (on any node) cannot all see room for one more. Answers undefined when the push was stored.
   */
  insertPushWithinLimits(r: CrossDeviceRequest & { userId: string }, limits: PushLimits): Promise<PushRefusal | undefined> {
    const now = r.createdAt;
    return this.db.transaction().execute(async (trx) => {
      await lockUser(trx, r.tenantId, r.userId);
      const refusal = await trx.selectFrom('crossdevice_events').select((eb) => eb.fn.max('at').as('at'))
        .where('tenant_id', '=', r.tenantId).where('user_id', '=', r.userId).where('type', 'in', ['denied', 'wrong_number'])
        .where('at', '>', now - limits.pauseAfterRefusalMs)
        .executeTakeFirst();
      if (refusal?.at != null) return { reason: 'refused_recently', retryAt: Number(refusal.at) + limits.pauseAfterRefusalMs };
      // Newest first: the n-th newest push is the one whose ageing out makes room again.
      const recent = (await trx.selectFrom('crossdevice_events').select('at')
        .where('tenant_id', '=', r.tenantId).where('user_id', '=', r.userId).where('type', '=', 'push_requested')
        .where('at', '>', now - DAY_MS)
        .orderBy('at', 'desc').limit(Math.max(limits.perDay, limits.perMinute))
        .execute()).map((row) => Number(row.at));
      if (recent.length >= limits.perDay) return { reason: 'per_day', retryAt: recent[limits.perDay - 1] + DAY_MS };
      const lastMinute = recent.filter((at) => at > now - MINUTE_MS);
      if (lastMinute.length >= limits.perMinute) return { reason: 'per_minute', retryAt: lastMinute[limits.perMinute - 1] + MINUTE_MS };
      await insertRequest(trx, r);
      await insertEvent(trx, { tenantId: r.tenantId, requestId: r.id, userId: r.userId, type: 'push_requested', at: now });
      return undefined;
    });
  }

  async find(tenantId: string, id: string): Promise<CrossDeviceRequest | undefined> {
    const row = await this.db.selectFrom('crossdevice_requests').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toRequest(row);
  }

  /**
   * Moves a request from one of `from` to `to` atomically; false when another actor got there first
   * (the single-use guarantee for approve/deny/complete). `expiry`: 'live' (default) requires the
   * request to be within its lifetime, 'due' past it (the expiry transition), 'any' either.
   */
  async transition(tenantId: string, id: string, from: CrossDeviceStatus[], to: CrossDeviceStatus, now: number,
    extra: { approvedUserId?: string; approvedAmr?: string[]; failureReason?: FailureReason; expiry?: 'live' | 'due' | 'any' } = {}): Promise<boolean> {
    let query = this.db.updateTable('crossdevice_requests')
      .set({
        status: to,
        resolved_at: now,
        ...(extra.approvedUserId ? { approved_user_id: extra.approvedUserId } : {}),
        ...(extra.approvedAmr ? { approved_amr: JSON.stringify(extra.approvedAmr) } : {}),
        ...(extra.failureReason ? { failure_reason: extra.failureReason } : {}),
      })
      .where('tenant_id', '=', tenantId).where('id', '=', id).where('status', 'in', from);
    const expiry = extra.expiry ?? 'live';
    if (expiry === 'live') query = query.where('expires_at', '>', now);
    if (expiry === 'due') query = query.where('expires_at', '<=', now);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async confirmNumber(tenantId: string, id: string, now: number): Promise<boolean> {
    const result = await this.db.updateTable('crossdevice_requests').set({ number_confirmed: 1 })
      .where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'pending').where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async listPendingForUser(tenantId: string, userId: string, now: number): Promise<CrossDeviceRequest[]> {
    const rows = await this.db.selectFrom('crossdevice_requests').selectAll()
      .where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('status', '=', 'pending').where('expires_at', '>', now)
      .orderBy('created_at', 'desc').execute();
    return rows.map(toRequest);
  }

  async listDuePending(now: number, limit = 100): Promise<CrossDeviceRequest[]> {
    const rows = await this.db.selectFrom('crossdevice_requests').selectAll()
      .where('status', '=', 'pending').where('expires_at', '<=', now).limit(limit).execute();
    return rows.map(toRequest);
  }

  /** Finished requests are kept a while for support questions; their events stay as the audit record. */
  async deleteResolvedBefore(before: number): Promise<void> {
    await this.db.deleteFrom('crossdevice_requests').where('expires_at', '<', before).where('status', '!=', 'pending').execute();
  }

  async recordEvent(event: CrossDeviceEvent): Promise<void> {
    await insertEvent(this.db, event);
  }

  async eventsFor(tenantId: string, requestId: string): Promise<Array<{ type: string; deviceId: string | null; detail: string; at: number }>> {
    const rows = await this.db.selectFrom('crossdevice_events').select(['type', 'device_id', 'detail', 'at'])
      .where('tenant_id', '=', tenantId).where('request_id', '=', requestId).orderBy('at').execute();
    return rows.map((r) => ({ type: r.type, deviceId: r.device_id, detail: r.detail, at: Number(r.at) }));
  }
}

async function insertRequest(db: Kysely<Schema>, r: CrossDeviceRequest): Promise<void> {
  await db.insertInto('crossdevice_requests').values({
    id: r.id,
    tenant_id: r.tenantId,
    interaction_uid: r.interactionUid,
    browser_binding: r.browserBinding,
    kind: r.kind,
    user_id: r.userId,
    number: r.number,
    choices: JSON.stringify(r.choices),
    status: r.status,
    number_confirmed: r.numberConfirmed ? 1 : 0,
    client_name: r.clientName,
    desktop_user_agent: r.desktopUserAgent,
    desktop_ip: r.desktopIp,
    approved_user_id: r.approvedUserId,
    approved_amr: r.approvedAmr && JSON.stringify(r.approvedAmr),
    created_at: r.createdAt,
    expires_at: r.expiresAt,
    resolved_at: r.resolvedAt,
    failure_reason: r.failureReason,
  }).execute();
}

async function insertEvent(db: Kysely<Schema>, event: CrossDeviceEvent): Promise<void> {
  await db.insertInto('crossdevice_events').values({
    id: randomId(12),
    tenant_id: event.tenantId,
    request_id: event.requestId,
    user_id: event.userId ?? null,
    device_id: event.deviceId ?? null,
    type: event.type,
    detail: event.detail ?? '',
    at: event.at,
  }).execute();
}

function toRequest(row: Schema['crossdevice_requests']): CrossDeviceRequest {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    interactionUid: row.interaction_uid,
    browserBinding: row.browser_binding,
    kind: row.kind as CrossDeviceRequest['kind'],
    userId: row.user_id,
    number: Number(row.number),
    choices: JSON.parse(row.choices),
    status: row.status as CrossDeviceStatus,
    numberConfirmed: Boolean(row.number_confirmed),
    clientName: row.client_name,
    desktopUserAgent: row.desktop_user_agent,
    desktopIp: row.desktop_ip,
    approvedUserId: row.approved_user_id,
    approvedAmr: row.approved_amr ? JSON.parse(row.approved_amr) : null,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
    failureReason: (row.failure_reason ?? null) as FailureReason | null,
  };
}
