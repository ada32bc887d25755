import { createHash } from 'node:crypto';
import { badRequest } from '../errors.js';

/**
 * A tenant's look: its display name (Tenant.name), a primary colour and a logo. The logo's bytes are
 * kept by Sesame and served from /<tenant>/branding/logo, so pages keep `img-src 'self' data:` and a
 * person's browser never fetches from a third party while signing in.
 *
 * Logos are PNG, JPEG or WebP, recognised by their bytes (not by what a URL or file name claims).
 * SVG is refused: it is a document that can carry script and links, and served from Sesame's origin
 * (someone opening the logo's URL directly) it would run with Sesame's cookies. Sanitising SVG
 * safely is a project of its own; raster formats cannot carry script at all.
 */
export const LOGO_MAX_BYTES = 64 * 1024;
export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

export interface Logo {
  type: LogoType;
  bytes: Buffer;
}

/** The type the bytes really are, or undefined for anything else (SVG, GIF, HTML, …). */
export function sniffLogoType(bytes: Buffer): LogoType | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

/** Checks a logo's bytes: a PNG, JPEG or WebP of at most 64 KB. */
export function checkLogo(bytes: Buffer): Logo {
  if (bytes.length === 0) throw badRequest('The logo is empty.', 'invalid_logo');
  if (bytes.length > LOGO_MAX_BYTES) {
    throw badRequest(`The logo is ${Math.ceil(bytes.length / 1024)} KB; it may be at most ${LOGO_MAX_BYTES / 1024} KB. Make it smaller (a 256×256 PNG is plenty).`, 'invalid_logo');
  }
  const type = sniffLogoType(bytes);
  if (!type) {
    const svg = /<svg[\s>]/i.test(bytes.subarray(0, 1024).toString('utf8'));
    throw badRequest(svg
      ? 'SVG logos are not accepted (an SVG can carry script): export it as PNG or WebP.'
      : 'The logo must be a PNG, JPEG or WebP image.', 'invalid_logo');
  }
  return { type, bytes };
}

/** A `data:image/…;base64,…` URL's bytes (checked by checkLogo, whatever type it claims). */
export function logoFromDataUrl(url: string): Logo {
  const match = /^data:([a-z0-9.+/-]+);base64,([A-Za-z0-9+/=\s]+)$/i.exec(url);
  if (!match) throw badRequest('A data: logo looks like data:image/png;base64,iVBORw0…', 'invalid_logo');
  if (/svg/i.test(match[1]!)) throw badRequest('SVG logos are not accepted (an SVG can carry script): export it as PNG or WebP.', 'invalid_logo');
  return checkLogo(Buffer.from(match[2]!, 'base64'));
}

/** A version of the logo for its URL, so that it can be cached for a year and still change at once. */
export function logoVersion(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
}

export const COLOUR_PATTERN = /^#[0-9a-f]{6}$/;

/** `#RRGGBB` or `#rrggbb`, in lower case. */
export function checkColour(value: string): string {
  const colour = value.trim().toLowerCase();
  if (!COLOUR_PATTERN.test(colour)) throw badRequest(`"${value}" is not a colour: give it as #rrggbb, e.g. #0f766e.`, 'invalid_colour');
  return colour;
}

/** WCAG 2 relative luminance of an sRGB colour (#rrggbb). */
export function relativeLuminance(colour: string): number {
  const channel = (i: number) => {
    const c = parseInt(colour.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

/** WCAG 2 contrast ratio between two colours, from 1 to 21. */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Text on the colour: white or black, whichever contrasts more. One of the two always reaches 4.5:1
 * (the worst case, a colour with luminance ≈ 0.18, still gives 4.58:1 with both).
 */
export function textColourOn(colour: string): '#ffffff' | '#000000' {
  return contrastRatio(colour, '#ffffff') >= contrastRatio(colour, '#000000') ? '#ffffff' : '#000000';
}

/** What the pages and mails need to show a tenant's branding. */
export interface Branding {
  tenantId: string;
  name: string;
  colour?: string;
  textColour?: string;
  /** Path of the logo, with its version (absolute for mails). */
  logoPath?: string;
}

export function brandingOf(tenant: { id: string; name: string; brandColour?: string | null; logoVersion?: string | null }): Branding {
  return {
    tenantId: tenant.id,
    name: tenant.name,
    ...(tenant.brandColour ? { colour: tenant.brandColour, textColour: textColourOn(tenant.brandColour) } : {}),
    ...(tenant.logoVersion ? { logoPath: `/${tenant.id}/branding/logo?v=${tenant.logoVersion}` } : {}),
  };
}
