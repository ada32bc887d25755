import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { TenantService } from '../../tenants/tenant-service.js';
import { userHandle, type PasskeyService } from '../../accounts/passkey-service.js';
import type { CeremonyRateLimits } from '../middleware/rate-limit.js';
import type { Tenant } from '../../storage/repositories/tenants.js';
import type { User } from '../../storage/repositories/users.js';
import { ACCOUNT_COOKIE, ACCOUNT_SESSION_SECONDS, type AccountSession, type AccountSessions } from '../../accounts/account-session.js';
import type { PasskeyRemoval } from '../../accounts/session-revocation.js';
import { authenticationResponseSchema, registrationResponseSchema } from '../../webauthn/response-schema.js';
import { parseInput } from '../validate.js';
import { challengeId, emailCode, optionalEmail, timeZone, verificationId } from '../schemas.js';
import { userBinding, type EmailVerificationService } from '../../accounts/email-verification.js';
import type { SecurityNotices } from '../../accounts/security-notices.js';
import { randomId } from '../../ids.js';
import { unauthorized } from '../../errors.js';
import { jsonForScript, renderPage } from '../../views/render.js';
import { brandingOf } from '../../tenants/branding.js';
import { requireJson } from './require-json.js';
import { counted } from '../../metrics.js';
import { describePasskey, PASSKEY_NAME_MAX_LENGTH } from '../../accounts/passkey-names.js';
import type { MetadataService } from '../../webauthn/metadata/metadata-service.js';
import { qrSvg } from '../../crossdevice/qr.js';
import type { PassportService } from '../../passport/passport-service.js';
import type { RecoveryService } from '../../accounts/recovery-service.js';
import type { AuditLog } from '../../audit/audit-log.js';

const CEREMONY_COOKIE = 'sesame_account_ceremony';
const verifyBody = z.object({ challengeId });
const signInVerifyBody = verifyBody.extend({ response: authenticationResponseSchema, timeZone });
const addVerifyBody = verifyBody.extend({ response: registrationResponseSchema, timeZone });
const removeBody = z.object({ credentialId: z.string().min(1).max(1024), timeZone });
const emailSendBody = z.object({ email: optionalEmail });
const emailCodeBody = z.object({ verificationId, code: emailCode });
const removeDeviceBody = z.object({ deviceId: z.string().min(1).max(64) });
const renameBody = z.object({
  credentialId: z.string().min(1).max(1024),
  name: z.string().trim()
    .min(1, 'give the passkey a name')
    .max(PASSKEY_NAME_MAX_LENGTH, `a name can have at most ${PASSKEY_NAME_MAX_LENGTH} characters`)
    .refine((name) => !/\p{Cc}/u.test(name), 'a name cannot contain line breaks or control characters')
    .transform((name) => name.normalize('NFC')),
});

/** A time as the page shows it: the ISO instant for the browser to put in local time, and UTC text until it does. */
const pageTime = (at: number, withTime: boolean) => {
  const iso = new Date(at).toISOString();
  return { iso, utc: `${iso.slice(0, 10)}${withTime ? ` ${iso.slice(11, 16)}` : ''} UTC` };
};

export interface AccountDeps {
  tenants: TenantService;
  passkeys: PasskeyService;
  passport: PassportService;
  rateLimits: CeremonyRateLimits;
  accountSessions: AccountSessions;
  passkeyRemoval: PasskeyRemoval;
  recovery: RecoveryService;
  codeRateLimits: CeremonyRateLimits;
  emailVerification: EmailVerificationService;
  securityNotices: SecurityNotices;
  metadata: Pick<MetadataService, 'entryFor'>;
  audit: AuditLog;
}

/**
 * /<tenant>/account: a person signs in with a passkey and sees, adds and removes their passkeys.
 * Ceremonies here are bound to a random id in a cookie of this browser (the account page has no
 * OIDC interaction to bind to).
 */
export function accountRoutes(deps: AccountDeps): Router {
  const router = new Router();
  const cookieOptions = (ctx: Context, tenant: Tenant, maxAgeSeconds: number) => ({
    httpOnly: true, sameSite: 'strict' as const, secure: ctx.secure, path: `/${tenant.id}/account`, maxAge: maxAgeSeconds * 1000, overwrite: true,
  });

  const ceremonyBinding = (ctx: Context, tenant: Tenant): string => {
    let binding = ctx.cookies.get(CEREMONY_COOKIE);
    if (!binding || !/^[A-Za-z0-9_-]{22}$/.test(binding)) {
      binding = randomId(16);
      ctx.cookies.set(CEREMONY_COOKIE, binding, cookieOptions(ctx, tenant, ACCOUNT_SESSION_SECONDS));
    }
    return `account:${binding}`;
  };

  const signedIn = async (ctx: Context, tenant: Tenant): Promise<{ user: User; session: AccountSession } | undefined> => {
    const session = await deps.accountSessions.read(tenant.id, ctx.cookies.get(ACCOUNT_COOKIE));
    const user = session && await deps.passkeys.findUser(tenant.id, session.userId);
    return user && session ? { user, session } : undefined;
  };

  const requireSignedIn = async (ctx: Context, tenant: Tenant): Promise<{ user: User; session: AccountSession }> => {
    const found = await signedIn(ctx, tenant);
    if (!found) throw unauthorized('Your account session has ended. Sign in again with your passkey.', 'signin_required');
    return found;
  };
  const requireUser = async (ctx: Context, tenant: Tenant): Promise<User> => (await requireSignedIn(ctx, tenant)).user;

  router.get('/:tenant/account', async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const found = await signedIn(ctx, tenant);
    ceremonyBinding(ctx, tenant);
    const base = `/${tenant.id}/account`;
    const passkeys = found ? await deps.passkeys.listPasskeys(tenant.id, found.user.id) : [];
    const devices = found ? await deps.passport.listDevices(tenant.id, found.user.id) : [];
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderPage('account', {
      nonce: ctx.state.cspNonce,
      title: `Your passkeys · ${tenant.name}`,
      tenantName: tenant.name,
      branding: brandingOf(tenant),
      user: found?.user,
      base,
      nameMaxLength: PASSKEY_NAME_MAX_LENGTH,
      passkeys: passkeys.map((p) => ({
        id: p.id,
        ...describePasskey(p, deps.metadata.entryFor(p.aaguid)),
        thisDevice: p.id === found?.session.credentialId,
        createdAt: pageTime(p.createdAt, true),
        lastUsedAt: p.lastUsedAt === null ? null : pageTime(p.lastUsedAt, true),
      })),
      devices: devices.map((d) => ({ id: d.id, name: d.name, push: Boolean(d.pushSubscription), createdAt: pageTime(d.createdAt, false) })),
      recoveryCodes: found ? recoveryCodesView(await deps.recovery.recoveryCodeStatus(tenant.id, found.user.id)) : undefined,
      configJson: jsonForScript({
        base,
        // What the WebAuthn Signal API tells this browser's passkey provider: the account's
        // current passkeys and names, so that it can hide removed ones and show new names.
        signals: found && {
          rpId: deps.passkeys.rpId,
          userId: userHandle(found.user.id).toString('base64url'),
          name: found.user.email,
          displayName: found.user.displayName,
          credentialIds: passkeys.map((p) => p.id),
        },
      }),
    });
  });

  // Recovery codes: shown in this answer only (the database keeps keyed hashes); new ones replace all.
  router.post('/:tenant/account/recovery-codes', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { codes: await deps.recovery.newRecoveryCodes(tenant.id, user.id) };
  });

  router.post('/:tenant/account/passport/link', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    const { link, expiresAt } = await deps.passport.createEnrolmentLink(tenant, user);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { link, qrSvg: await qrSvg(link), expiresAt: new Date(expiresAt).toISOString() };
  });

  router.post('/:tenant/account/passport/remove', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    const { deviceId } = parseInput(removeDeviceBody, ctx.request.body);
    await deps.passport.removeDevice(tenant.id, user.id, deviceId);
    await deps.audit.record({ type: 'phone.removed', tenantId: tenant.id, userId: user.id, email: user.email, detail: { deviceId, via: 'account' } });
    ctx.body = { redirectTo: `/${tenant.id}/account` };
  });

  router.post('/:tenant/account/signin/options', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    await deps.rateLimits.consume(ctx.ip);
    ctx.body = await deps.passkeys.startSignIn(tenant, ceremonyBinding(ctx, tenant), {});
  });

  router.post('/:tenant/account/signin/verify', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const body = parseInput(signInVerifyBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    const { user, credentialId, amr } = await counted('account_signin', deps.passkeys.finishSignIn(tenant, ceremonyBinding(ctx, tenant), body));
    await deps.audit.record({ type: 'signin.succeeded', tenantId: tenant.id, userId: user.id, email: user.email, detail: { via: 'account', credentialId, amr } });
    await deps.securityNotices.signedIn(user, { userAgent: ctx.get('user-agent'), timeZone: body.timeZone });
    ctx.cookies.set(ACCOUNT_COOKIE, await deps.accountSessions.open(tenant.id, user.id, credentialId), cookieOptions(ctx, tenant, ACCOUNT_SESSION_SECONDS));
    ctx.body = { redirectTo: `/${tenant.id}/account` };
  });

  router.post('/:tenant/account/passkeys/options', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    ctx.body = await deps.passkeys.startAddPasskey(tenant, ceremonyBinding(ctx, tenant), user);
  });

  router.post('/:tenant/account/passkeys/verify', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    const body = parseInput(addVerifyBody, ctx.request.body);
    const added = await counted('add_passkey', deps.passkeys.finishAddPasskey(tenant, ceremonyBinding(ctx, tenant), user, body));
    await deps.audit.record({ type: 'passkey.added', tenantId: tenant.id, userId: user.id, email: user.email, detail: { credentialId: added.id } });
    await deps.securityNotices.notify(user, 'passkey-added', { userAgent: ctx.get('user-agent'), timeZone: body.timeZone });
    ctx.body = { redirectTo: `/${tenant.id}/account` };
  });

  router.post('/:tenant/account/passkeys/remove', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const { user, session } = await requireSignedIn(ctx, tenant);
    const { credentialId, timeZone: zone } = parseInput(removeBody, ctx.request.body);
    await deps.passkeyRemoval.remove(tenant.id, user.id, credentialId, session.idHash);
    await deps.audit.record({ type: 'passkey.removed', tenantId: tenant.id, userId: user.id, email: user.email, detail: { credentialId } });
    await deps.securityNotices.notify(user, 'passkey-removed', { userAgent: ctx.get('user-agent'), timeZone: zone });
    ctx.body = { redirectTo: `/${tenant.id}/account` };
  });

  // Confirming the account's address, or changing it: a code to the (new) address, and the account
  // switches to it only once the code (or the mail's link) proved it.
  router.post('/:tenant/account/email/send', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    const email = parseInput(emailSendBody, ctx.request.body).email ?? user.email;
    await deps.codeRateLimits.consume(ctx.ip, `code:${tenant.id}:${email}`);
    ctx.body = await deps.emailVerification.send(tenant, { purpose: 'account', user, email });
  });

  router.post('/:tenant/account/email/code', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    const body = parseInput(emailCodeBody, ctx.request.body);
    await deps.rateLimits.consume(ctx.ip);
    await deps.emailVerification.proveWithCode(tenant, userBinding(user.id), body.verificationId, body.code);
    ctx.body = { redirectTo: `/${tenant.id}/account` };
  });

  router.post('/:tenant/account/passkeys/rename', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    const user = await requireUser(ctx, tenant);
    const { credentialId, name } = parseInput(renameBody, ctx.request.body);
    await deps.passkeys.renamePasskey(tenant.id, user.id, credentialId, name);
    ctx.body = { name };
  });

  router.post('/:tenant/account/signout', requireJson, async (ctx) => {
    const tenant = await deps.tenants.requireTenant(ctx.params.tenant);
    await deps.accountSessions.end(tenant.id, ctx.cookies.get(ACCOUNT_COOKIE));
    ctx.cookies.set(ACCOUNT_COOKIE, null, cookieOptions(ctx, tenant, 0));
    ctx.body = { redirectTo: `/${tenant.id}/account` };
  });

  return router;
}

function recoveryCodesView(status: { left: number; createdAt: number } | undefined): { left: number; createdAt: string } | null {
  return status ? { left: status.left, createdAt: new Date(status.createdAt).toISOString().slice(0, 10) } : null;
}
