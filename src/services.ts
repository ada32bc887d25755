import type { Config } from './config.js';
import type { Database } from './storage/db.js';
import type { Logger } from './log.js';
import { TenantRepository, tenantCacheKey } from './storage/repositories/tenants.js';
import { ClientRepository } from './storage/repositories/clients.js';
import { SigningKeyRepository } from './storage/repositories/signing-keys.js';
import { ChallengeRepository } from './storage/repositories/challenges.js';
import { UserRepository } from './storage/repositories/users.js';
import { RateLimitRepository } from './storage/repositories/rate-limits.js';
import { SessionRepository } from './storage/repositories/sessions.js';
import { AccountSessions } from './accounts/account-session.js';
import { UserAdministration } from './accounts/user-administration.js';
import { CredentialRepository } from './storage/repositories/credentials.js';
import { PasskeyRemoval } from './accounts/session-revocation.js';
import { SigningKeyService } from './oidc/signing-keys.js';
import { ProviderRegistry } from './oidc/provider-registry.js';
import { TenantService } from './tenants/tenant-service.js';
import { U2fService } from './u2f/u2f-service.js';
import { ChallengeService } from './webauthn/challenges.js';
import { PasskeyService } from './accounts/passkey-service.js';
import { relyingPartyFor } from './webauthn/relying-party.js';
import { CeremonyRateLimits } from './http/middleware/rate-limit.js';
import { CrossDeviceRepository } from './storage/repositories/crossdevice.js';
import { PassportDeviceRepository } from './storage/repositories/passport-devices.js';
import { PushDispatcher } from './crossdevice/push-dispatcher.js';
import { CrossDeviceService } from './crossdevice/crossdevice-service.js';
import { CrossDeviceWaiters } from './crossdevice/waiters.js';
import { EventStreamRegistry } from './crossdevice/event-streams.js';
import { PassportService } from './passport/passport-service.js';
import { Draining } from './draining.js';
import { UafService } from './uaf/uaf-service.js';
import { UafApproval } from './crossdevice/uaf-approval.js';
import { OutboundClient } from './net/outbound.js';
import { createMailSystem } from './mail/mail-system.js';
import type { MailWorkerTuning } from './mail/mail-worker.js';
import { RecoveryService } from './accounts/recovery-service.js';
import { RecoveryRepository } from './storage/repositories/recovery.js';
import { RecoveryHasher } from './accounts/recovery-secrets.js';
import { EmailVerificationService } from './accounts/email-verification.js';
import { SecurityNotices } from './accounts/security-notices.js';
import { UserDeviceRepository } from './storage/repositories/user-devices.js';
import { MdsRepository } from './storage/repositories/mds.js';
import { MetadataService } from './webauthn/metadata/metadata-service.js';
import { AuditLog } from './audit/audit-log.js';
import { AuditRepository } from './audit/audit-repository.js';
import { AttestationRootRepository } from './storage/repositories/attestation-roots.js';
import { AttestationRootService } from './tenants/attestation-roots.js';
import { AuditStats } from './audit/audit-stats.js';
import { AdminAccounts } from './admin/admin-accounts.js';
import { Onboarding } from './admin/onboarding.js';
import { KeyedRateLimit } from './http/middleware/rate-limit.js';
import { ClientAdministration } from './tenants/client-administration.js';
import { SessionTermination } from './oidc/session-termination.js';
import { forgetClient } from './oidc/adapter.js';
import { GroupRepository } from './storage/repositories/groups.js';
import { GroupService } from './accounts/groups.js';
import { CustomClaims } from './accounts/custom-claims.js';
import { ApiTokenService } from './admin/api-tokens.js';
import { InvitationService } from './accounts/invitations.js';
import { InvitationRepository } from './storage/repositories/invitations.js';
import { ApiTokenRepository } from './storage/repositories/api-tokens.js';
import { announceChange, CACHE_CHANNEL } from './storage/read-cache.js';

const CODE_SENDS_PER_ADDRESS_PER_MINUTE = 3;

/** Every service, wired once. The HTTP layer and the CLI both start from here. */
export interface ServiceOptions {
  /** Certificate authorities outbound https trusts besides the public ones (tests trust their own push service). */
  outboundCa?: string | Buffer;
  /** The mail worker's timing (tests shorten the backoff, the lease and the poll). */
  mailTuning?: Partial<MailWorkerTuning>;
}

export function createServices(config: Config, database: Database, log: Logger, options: ServiceOptions = {}) {
  const { db, secrets } = database;
  const audit = new AuditLog(new AuditRepository(db), log, config.auditRetentionDays);
  const tenantRepository = new TenantRepository(db, secrets);
  const clientRepository = new ClientRepository(db, secrets);
  const signingKeys = new SigningKeyService(new SigningKeyRepository(db, secrets));
  const challenges = new ChallengeService(new ChallengeRepository(db));
  const mail = createMailSystem(config, database, log, options.mailTuning);
  const emailVerification = new EmailVerificationService(db, secrets, mail.service, config.publicUrl, audit);
  const metadata = new MetadataService(new MdsRepository(db), { url: config.mds.url, refusedStatuses: config.mds.refusedStatuses,
    outbound: { allowPrivate: config.outboundAllowPrivate, extraCa: options.outboundCa } }, log);
  const tenants = new TenantService(tenantRepository, clientRepository, signingKeys);
  const attestationRoots = new AttestationRootService(new AttestationRootRepository(db), tenants);
  const passkeys = new PasskeyService(db, challenges, relyingPartyFor(config.publicUrl), emailVerification, metadata, attestationRoots);
  const crossDeviceRequests = new CrossDeviceRepository(db);
  const passportDevices = new PassportDeviceRepository(db);
  const outbound = new OutboundClient({ allowPrivate: config.outboundAllowPrivate, extraCa: options.outboundCa });
  const push = new PushDispatcher(db, passportDevices, crossDeviceRequests, { publicUrl: config.publicUrl, vapidSubject: config.vapidSubject, pushServiceHosts: config.pushServiceHosts, outbound, secrets }, log);
  const sessions = new SessionRepository(db);
  const groupRepository = new GroupRepository(db);
  // Defined below; the provider asks for a user's custom claims only while serving requests.
  let customClaims: CustomClaims | undefined;
  const registry = new ProviderRegistry(tenantRepository, signingKeys, {
    db, sessions, publicUrl: config.publicUrl, secrets, outbound,
    customClaims: (tenantId, userId) => customClaims!.claimsFor(tenantId, userId),
  }, log);
  // A tenant changed on any node (settings, branding, custom claim names): its provider is rebuilt on next use.
  database.pubsub.subscribe(CACHE_CHANNEL, (key) => {
    if (key.startsWith(tenantCacheKey(''))) registry.invalidate(key.slice(tenantCacheKey('').length));
  });
  // This node drops the provider at once; the announcement makes the others do the same.
  customClaims = new CustomClaims(groupRepository, audit, (tenantId) => {
    registry.invalidate(tenantId);
    return announceChange(db, tenantCacheKey(tenantId));
  });
  const sessionTermination = new SessionTermination(db, sessions, registry, audit, log);
  const passkeyRemoval = new PasskeyRemoval(passkeys, sessions, passportDevices, sessionTermination);
  const rateLimitCounts = new RateLimitRepository(db);
  const users = new UserRepository(db);
  const recovery = new RecoveryService(new RecoveryRepository(db), users, passkeys, passkeyRemoval, mail.service, rateLimitCounts,
    new RecoveryHasher(secrets), config.publicUrl, log);
  const groups = new GroupService(groupRepository, users, customClaims, audit);
  const crossDevice = new CrossDeviceService(crossDeviceRequests, passkeys, new CrossDeviceWaiters(database.pubsub), push, config.pushLimitPerDay, audit);
  const uaf = new UafService(db, config.publicUrl);
  const adminAccounts = new AdminAccounts(db, challenges, relyingPartyFor(config.publicUrl), tenants, config.publicUrl);
  const perHour = (points: number) => ({ points, durationSeconds: 3600 });
  return {
    config,
    database,
    log,
    draining: new Draining(),
    /** `audit.record({ type, tenantId, userId, detail })`: the request's IP, User-Agent and id come from its context. */
    audit,
    clients: clientRepository,
    users,
    /** Users by id (console, admin API) and by address (sesame user disable | enable | delete): search, view, disable, delete, recovery links. */
    userAdmin: new UserAdministration(users, new CredentialRepository(db), passportDevices, sessionTermination, recovery, audit, metadata),
    /** A tenant's clients for the console and the admin API: list, create (secret and B2C values once), rotate, redirect URIs, delete. */
    clientAdmin: new ClientAdministration(tenants, clientRepository, groups, audit, config.publicUrl, (tenantId, clientId) => forgetClient(db, tenantId, clientId)),
    /** Groups, their members and claims; custom claim definitions and users' values. */
    groups,
    customClaims,
    /** Sign-up invitations for tenants whose sign-up is closed. */
    invitations: new InvitationService(new InvitationRepository(db), groupRepository, groups, audit, config.publicUrl, mail.service, clientRepository),
    /** Admin API tokens (sesame token create | list | revoke, the console). */
    apiTokens: new ApiTokenService(new ApiTokenRepository(db), tenants, rateLimitCounts, audit),
    /** Ends a user's sessions and sends back-channel logout tokens. */
    sessionTermination,
    signingKeys,
    challenges,
    tenants,
    /** Attestation roots each tenant trusts besides the FIDO metadata's (sesame trust add | list | remove). */
    attestationRoots,
    registry,
    sessions,
    accountSessions: new AccountSessions(sessions),
    passkeyRemoval,
    recovery,
    passkeys,
    /** FIDO metadata: the BLOB in force, what it says per AAGUID, `sesame mds load`, the daily refresh. */
    metadata,
    emailVerification,
    securityNotices: new SecurityNotices(mail.service, new UserDeviceRepository(db), log),
    outbound,
    push,
    crossDevice,
    crossDeviceRequests,
    /** The live-update streams open on this node (2 per cross-device request, EVENT_STREAMS_PER_NETWORK per network). */
    eventStreams: new EventStreamRegistry({ perRequest: 2, perNetwork: config.eventStreamsPerNetwork }),
    /** `mail.enqueue({ tenantId, to, template, data })` queues a mail (src/mail/templates.ts lists the templates). */
    mail: mail.service,
    /** Sends the outbox; started by the server (not by the CLI). Undefined when mails have nowhere to go yet. */
    mailWorker: mail.worker,
    mailOutbox: mail.outbox,
    passport: new PassportService(passportDevices, crossDeviceRequests, passkeys, crossDevice, config.publicUrl),
    /** FIDO U2F: the tenant's AppID and trusted facets, and imports of U2F registrations. */
    u2f: new U2fService(db, config.publicUrl),
    /** FIDO UAF: registrations of Passport devices, authentications, and approvals of cross-device sign-ins. */
    uaf,
    uafApproval: new UafApproval(crossDevice, uaf),
    rateLimits: new CeremonyRateLimits(rateLimitCounts, {
      perIp: { points: config.rateLimits.perIpPerMinute, durationSeconds: 60 },
      perAccount: { points: config.rateLimits.perAccountPerMinute, durationSeconds: 60 },
      authorizationsPerIp: { points: config.rateLimits.authorizationsPerIpPerMinute, durationSeconds: 60 },
    }),
    /** Recovery code mails: as many per network as sign-ins, but few per address seen from it (each is a mail someone receives). */
    recoveryMailLimits: new CeremonyRateLimits(rateLimitCounts, {
      perIp: { points: config.rateLimits.perIpPerMinute, durationSeconds: 60 },
      perAccount: { points: Math.min(3, config.rateLimits.perAccountPerMinute), durationSeconds: 60 },
    }, { purpose: 'recovery-' }),
    /** Sending codes: per network as for sign-in, and per address from a network at most 3 a minute (each mail lands in someone's inbox). */
    codeRateLimits: new CeremonyRateLimits(rateLimitCounts, {
      perIp: { points: config.rateLimits.perIpPerMinute, durationSeconds: 60 },
      perAccount: { points: CODE_SENDS_PER_ADDRESS_PER_MINUTE, durationSeconds: 60 },
    }, { purpose: 'code-', message: 'Too many codes were sent. Please wait a minute, then send a new one.' }),
    /** The console's administrators: one-time links, passkeys, sessions (src/admin). */
    adminAccounts,
    /** Console sign-ins: per network as for people's sign-ins. */
    adminSignInLimits: new CeremonyRateLimits(rateLimitCounts, {
      perIp: { points: config.rateLimits.perIpPerMinute, durationSeconds: 60 },
      perAccount: { points: config.rateLimits.perAccountPerMinute, durationSeconds: 60 },
    }, { purpose: 'admin-' }),
    /** PUBLIC_URL/onboard (ONBOARDING=open|invite|off); open applications limited per network and per e-mail domain, per hour. */
    onboarding: new Onboarding(db, { mode: config.onboarding.mode, publicUrl: config.publicUrl }, tenants, adminAccounts, mail.service, {
      perNetwork: new KeyedRateLimit(rateLimitCounts, 'onboard-ip', perHour(config.onboarding.perIpPerHour),
        'Too many organisations were set up from your network in the last hour. Please try again in an hour.'),
      perDomain: new KeyedRateLimit(rateLimitCounts, 'onboard-domain', perHour(config.onboarding.perDomainPerHour),
        'Too many organisations were set up with addresses of this domain in the last hour. Please try again in an hour.'),
    }),
    /** The console's dashboard: sign-ins per day, failures by reason, active people (from the audit log). */
    auditStats: new AuditStats(db, database.dialect),
  };
}

export type Services = ReturnType<typeof createServices>;
