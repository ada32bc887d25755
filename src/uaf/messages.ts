import { z } from 'zod';

/**
 * The JSON messages of the UAF protocol (UAF Protocol v1.2 §3): zod schemas for what clients send
 * and types for what the server builds. Sizes are bounded so that a message is refused before it costs much.
 */

const b64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*={0,2}$/, 'must be base64url');
/** Sent by the server in 1.0 and 1.1; 1.2 keeps the 1.1 message format (UAF Protocol v1.2 §3.1.1). */
export const SUPPORTED_VERSIONS = [{ major: 1, minor: 0 }, { major: 1, minor: 1 }, { major: 1, minor: 2 }];
export const SERVER_VERSION = { major: 1, minor: 1 };

export const versionSchema = z.object({ major: z.number().int().min(0).max(255), minor: z.number().int().min(0).max(255) });
export type Version = z.infer<typeof versionSchema>;

const extensionSchema = z.object({ id: z.string().min(1).max(32), data: b64url(4096), fail_if_unknown: z.boolean() });

export const operationHeaderSchema = z.object({
  upv: versionSchema,
  op: z.enum(['Reg', 'Auth', 'Dereg']),
  appID: z.string().max(512).optional(),
  serverData: z.string().max(1536).optional(),
  exts: z.array(extensionSchema).max(8).optional(),
});
export type OperationHeader = z.infer<typeof operationHeaderSchema>;

const aaid = z.string().regex(/^[0-9A-Fa-f]{4}#[0-9A-Fa-f]{4}$/, 'must be an AAID (VVVV#MMMM)');
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);

export const matchCriteriaSchema = z.object({
  aaid: z.array(aaid).max(64).optional(),
  vendorID: z.array(z.string().max(4)).max(64).optional(),
  keyIDs: z.array(b64url(1024)).max(64).optional(),
  userVerification: u32.optional(),
  keyProtection: u16.optional(),
  matcherProtection: u16.optional(),
  attachmentHint: u32.optional(),
  tcDisplay: u16.optional(),
  authenticationAlgorithms: z.array(u16).max(32).optional(),
  assertionSchemes: z.array(z.string().max(16)).max(8).optional(),
  attestationTypes: z.array(u16).max(8).optional(),
  authenticatorVersion: u16.optional(),
  exts: z.array(extensionSchema).max(8).optional(),
});
export type MatchCriteria = z.infer<typeof matchCriteriaSchema>;

export const policySchema = z.object({
  accepted: z.array(z.array(matchCriteriaSchema).max(16)).max(32),
  disallowed: z.array(matchCriteriaSchema).max(32).optional(),
});
export type Policy = z.infer<typeof policySchema>;

const challenge = b64url(86).refine((c) => { const n = Buffer.from(c, 'base64url').length; return n >= 8 && n <= 64; }, 'must be 8 to 64 bytes');

export const transactionSchema = z.object({
  contentType: z.string().max(32),
  content: b64url(200_000),
  tcDisplayPNGCharacteristics: z.array(z.record(z.string(), z.unknown())).max(8).optional(),
});
export type Transaction = z.infer<typeof transactionSchema>;

export const registrationRequestSchema = z.object({ header: operationHeaderSchema, challenge, username: z.string().max(128), policy: policySchema });
export const authenticationRequestSchema = z.object({ header: operationHeaderSchema, challenge, transaction: z.array(transactionSchema).max(4).optional(), policy: policySchema });
export const deregistrationRequestSchema = z.object({
  header: operationHeaderSchema,
  authenticators: z.array(z.object({ aaid: z.union([aaid, z.literal('')]), keyID: z.union([b64url(1024), z.literal('')]) })).max(64),
});
export type RegistrationRequest = z.infer<typeof registrationRequestSchema>;
export type AuthenticationRequest = z.infer<typeof authenticationRequestSchema>;
export type DeregistrationRequest = z.infer<typeof deregistrationRequestSchema>;

const assertionSchema = z.object({
  assertionScheme: z.string().max(16),
  assertion: b64url(24_000),
  tcDisplayPNGCharacteristics: z.array(z.record(z.string(), z.unknown())).max(8).optional(),
  exts: z.array(extensionSchema).max(8).optional(),
});

/** RegistrationResponse and AuthenticationResponse share one shape (UAF Protocol §3.4.6, §3.5.6). */
export const responseSchema = z.object({
  header: operationHeaderSchema,
  fcParams: b64url(8192),
  assertions: z.array(assertionSchema).min(1).max(8),
});
export type UafResponse = z.infer<typeof responseSchema>;

export const finalChallengeParamsSchema = z.object({
  appID: z.string().max(512),
  challenge: z.string().max(128),
  facetID: z.string().max(512),
  channelBinding: z.object({
    serverEndPoint: z.string().max(512).optional(),
    tlsServerCertificate: z.string().max(8192).optional(),
    tlsUnique: z.string().max(512).optional(),
    cid_pubkey: z.string().max(1024).optional(),
  }).passthrough(),
});
export type FinalChallengeParams = z.infer<typeof finalChallengeParamsSchema>;

/** Messages travel as arrays of one object per protocol version; `kind` picks the schema. */
export const MESSAGE_SCHEMAS = {
  RegistrationRequest: registrationRequestSchema,
  AuthenticationRequest: authenticationRequestSchema,
  DeregistrationRequest: deregistrationRequestSchema,
  RegistrationResponse: responseSchema,
  AuthenticationResponse: responseSchema,
} as const;
