/**
 * The WebAuthn Signal API: tells this browser's passkey provider what the server knows about the
 * account, so that it stops offering removed passkeys (which would fail at sign-in) and shows the
 * current name. Only some browsers have it, and a provider may ignore it: every call is best effort
 * and its failure is not the person's concern.
 */
export interface AccountSignals {
  rpId: string;
  /** base64url of the user handle the passkeys hold. */
  userId: string;
  name: string;
  displayName: string;
  credentialIds: string[];
}

interface SignalApi {
  signalUnknownCredential?(options: { rpId: string; credentialId: string }): Promise<void>;
  signalAllAcceptedCredentials?(options: { rpId: string; userId: string; allAcceptedCredentialIds: string[] }): Promise<void>;
  signalCurrentUserDetails?(options: { rpId: string; userId: string; name: string; displayName: string }): Promise<void>;
}

const api = (): SignalApi => (typeof PublicKeyCredential === 'undefined' ? {} : PublicKeyCredential as unknown as SignalApi);
const quietly = (call: Promise<void> | undefined) => void call?.catch(() => undefined);

export function signalAccount(account: AccountSignals): void {
  const { rpId, userId, name, displayName } = account;
  const pkc = api();
  if (pkc.signalAllAcceptedCredentials) quietly(pkc.signalAllAcceptedCredentials({ rpId, userId, allAcceptedCredentialIds: account.credentialIds }));
  if (pkc.signalCurrentUserDetails) quietly(pkc.signalCurrentUserDetails({ rpId, userId, name, displayName }));
}

export function signalRemoved(rpId: string, credentialId: string): void {
  const pkc = api();
  if (pkc.signalUnknownCredential) quietly(pkc.signalUnknownCredential({ rpId, credentialId }));
}
