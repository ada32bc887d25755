import { z } from 'zod';

/**
 * Binary fields of a PublicKeyCredential JSON. Browsers send unpadded base64url; some clients and
 * test data send padding or the standard base64 alphabet. Those are the same bytes, so they are
 * accepted and normalised to canonical base64url before anything compares or decodes them.
 */
export const base64url = z.string()
  .min(1)
  .max(16_384)
  .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64url')
  .transform((s) => Buffer.from(s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url').toString('base64url'));

const transports = z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(8).optional()
  .catch(undefined); // an unknown transport name from a newer browser is not a reason to fail sign-in

const clientExtensionResults = z.record(z.unknown()).default({});

export const registrationResponseSchema = z.object({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports,
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional().catch(undefined),
  clientExtensionResults,
});

export const authenticationResponseSchema = z.object({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional().nullable().transform((v) => v ?? undefined),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional().catch(undefined),
  clientExtensionResults,
});

export type RegistrationResponse = z.infer<typeof registrationResponseSchema>;
export type AuthenticationResponse = z.infer<typeof authenticationResponseSchema>;
