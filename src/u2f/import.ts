import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Schema } from '../storage/schema.js';
import { UserRepository, type User } from '../storage/repositories/users.js';
import { CredentialRepository } from '../storage/repositories/credentials.js';
import { email as emailSchema } from '../http/schemas.js';
import { randomId } from '../ids.js';
import { SesameError } from '../errors.js';
import { coseFromU2fKey } from './public-key.js';

/** One registration as a U2F server kept it (websafe base64 as in the U2F JS API). */
const recordSchema = z.object({
  keyHandle: z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, 'the key handle is not base64url').max(2048),
  publicKey: z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, 'the public key is not base64url').max(200),
  counter: z.coerce.number().int().min(0).max(0xffffffff),
  appId: z.string().max(2048),
  email: emailSchema,
  displayName: z.string().trim().max(100).optional(),
});

export interface ImportedRegistration {
  index: number;
  email: string;
  keyHandle: string;
  /** The account was made by the import (its e-mail address is not verified). */
  userCreated: boolean;
}

export interface RefusedRegistration {
  index: number;
  email?: string;
  keyHandle?: string;
  reason: string;
}

export interface ImportReport {
  imported: ImportedRegistration[];
  refused: RefusedRegistration[];
}

/** U2F keys never verify the user and are not backed up; the AAGUID is unknown (all zeros). */
const U2F_AAGUID = '00000000-0000-0000-0000-000000000000';

/**
 * Each registration becomes a WebAuthn credential: id = the key handle, the raw P-256 point as a
 * COSE key, attestation format fido-u2f, and the AppID it signs under (sign-in through the appid
 * extension). Only the tenant's AppID is accepted: the browser sends the extension for that one.
 * A person not known yet gets an account with email_verified false: the U2F server's records prove
 * possession of the key, not of the address. Each registration is imported or refused on its own.
 */
export async function importRegistrations(db: Kysely<Schema>, tenantId: string, tenantAppId: string | undefined, records: unknown[], now: number): Promise<ImportReport> {
  const report: ImportReport = { imported: [], refused: [] };
  const seen = new Set<string>();
  for (const [index, raw] of records.entries()) {
    const parsed = recordSchema.safeParse(raw);
    const partial = (raw ?? {}) as { email?: unknown; keyHandle?: unknown };
    const refuse = (reason: string) => report.refused.push({
      index, reason,
      ...(typeof partial.email === 'string' ? { email: partial.email } : {}),
      ...(typeof partial.keyHandle === 'string' ? { keyHandle: partial.keyHandle } : {}),
    });
    if (!parsed.success) {
      refuse(parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; '));
      continue;
    }
    const record = parsed.data;
    const keyHandle = Buffer.from(record.keyHandle, 'base64url').toString('base64url');
    if (!tenantAppId) {
      refuse('the tenant has no U2F AppID (set it with sesame tenant set <id> --u2f-appid <url>)');
      continue;
    }
    if (record.appId !== tenantAppId) {
      refuse(`unknown AppID ${record.appId} (the tenant's is ${tenantAppId})`);
      continue;
    }
    let publicKey: Uint8Array;
    try {
      publicKey = coseFromU2fKey(Buffer.from(record.publicKey, 'base64url'));
    } catch (error) {
      refuse(`bad key: ${(error as Error).message}`);
      continue;
    }
    if (seen.has(keyHandle)) {
      refuse('duplicate key handle (earlier in this file)');
      continue;
    }
    seen.add(keyHandle);
    try {
      const userCreated = await db.transaction().execute(async (trx) => {
        const credentials = new CredentialRepository(trx);
        if (await credentials.find(tenantId, keyHandle)) throw new SesameError('duplicate', 409, 'duplicate key handle (already registered in this tenant)');
        const users = new UserRepository(trx);
        let user: User | undefined = await users.findByEmail(tenantId, record.email);
        const created = !user;
        if (!user) {
          user = { tenantId, id: randomId(16), email: record.email, emailVerified: false, displayName: record.displayName || record.email, createdAt: now };
          await users.insert(user);
        }
        await credentials.insert({
          tenantId, id: keyHandle, userId: user.id, publicKey, signCount: record.counter, transports: ['usb'],
          aaguid: U2F_AAGUID, deviceType: 'singleDevice', backedUp: false, attestationFormat: 'fido-u2f', userVerified: false,
          createdAt: now, lastUsedAt: null, name: null, u2fAppId: tenantAppId,
        });
        return created;
      });
      report.imported.push({ index, email: record.email, keyHandle, userCreated });
    } catch (error) {
      if (!(error instanceof SesameError)) throw error;
      refuse(error.message);
    }
  }
  return report;
}
