/**
 * Origins whose pages may embed a ceremony in a frame (WebAuthn L3 §7.1 steps 10–11, §7.2 steps
 * 12–13): the relying party decides whether it expects its passkeys to be used inside another
 * page's iframe, and inside which pages. `any` accepts every framing (the vectors of a source that
 * stated such a ceremony valid); a list accepts a framed ceremony only under those top origins.
 */
export type FramingPolicy = readonly string[] | 'any';

/**
 * Checks the client data's crossOrigin and topOrigin against the policy and returns the top
 * origin it accepted (for @simplewebauthn/server, which checks it too on sign-in). Client data that
 * cannot be read is left to the ceremony's own checks, which refuse it.
 */
export function checkFraming(clientDataJSON: string, policy: FramingPolicy): string | undefined {
  let clientData: { crossOrigin?: unknown; topOrigin?: unknown };
  try {
    clientData = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const topOrigin = typeof clientData?.topOrigin === 'string' ? clientData.topOrigin : undefined;
  if (clientData?.crossOrigin !== true && topOrigin === undefined) return undefined;
  if (policy === 'any') return topOrigin;
  if (topOrigin === undefined) {
    throw new Error('the ceremony ran in a frame of another site whose origin the browser did not name (crossOrigin without topOrigin), '
      + 'and this relying party accepts framed ceremonies only under origins it knows');
  }
  if (!policy.includes(topOrigin)) {
    throw new Error(`the ceremony ran in a frame inside ${topOrigin}, a top origin this relying party does not expect its passkeys to be used under`);
  }
  return topOrigin;
}
