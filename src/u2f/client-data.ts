import { badRequest } from '../errors.js';

export const REGISTER_TYPE = 'navigator.id.finishEnrollment';
export const SIGN_TYPE = 'navigator.id.getAssertion';

export interface ClientDataExpectation {
  /** The challenge the server issued, websafe base64 as the client echoes it. */
  challenge: string;
  /** The trusted facets of the AppID: the origins (facet ids) allowed to use it. */
  facets: string[];
}

/**
 * The client data the U2F client signed (by hash) along with the authenticator's output: its type,
 * the challenge and the caller's facet must all be the expected ones.
 */
export function checkClientData(clientData: Buffer, type: string, expected: ClientDataExpectation): void {
  let parsed: { typ?: unknown; challenge?: unknown; origin?: unknown };
  try {
    parsed = JSON.parse(clientData.toString('utf8')) as typeof parsed;
  } catch {
    throw badRequest('The U2F client data is not JSON.', 'u2f_malformed');
  }
  if (parsed === null || typeof parsed !== 'object') throw badRequest('The U2F client data is not a JSON object.', 'u2f_malformed');
  if (parsed.typ !== type) throw badRequest(`The U2F client data has type "${String(parsed.typ)}", not ${type}.`, 'u2f_client_data');
  if (parsed.challenge !== expected.challenge) throw badRequest('The U2F client data carries another challenge than the one issued.', 'u2f_client_data');
  if (typeof parsed.origin !== 'string' || !expected.facets.includes(parsed.origin)) {
    throw badRequest(`The origin ${String(parsed.origin)} is not a trusted facet of this AppID.`, 'u2f_untrusted_facet');
  }
}
