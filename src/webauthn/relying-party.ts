/** The WebAuthn relying party Sesame is: RP ID = host name of PUBLIC_URL, origin = its origin. */
export interface RelyingParty {
  rpId: string;
  origin: string;
}

export function relyingPartyFor(publicUrl: string): RelyingParty {
  const url = new URL(publicUrl);
  return { rpId: url.hostname, origin: url.origin };
}
