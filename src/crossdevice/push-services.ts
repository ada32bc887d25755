import { badRequest } from '../errors.js';

/**
 * A Web Push subscription names the URL Sesame will POST to. Only the browsers' push services (and
 * those the operator adds) are accepted, so a device cannot turn Sesame into a request relay.
 * `*.example.com` matches any subdomain of example.com.
 */
export function isKnownPushService(hosts: readonly string[], endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return hosts.some((allowed) => allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) && host.length > allowed.length - 1 : host === allowed.replace(/^\[|\]$/g, ''));
}

export function checkPushEndpoint(hosts: readonly string[], endpoint: string): void {
  if (!isKnownPushService(hosts, endpoint)) {
    throw badRequest('This push subscription is not from a known browser push service (Chrome, Firefox, Safari or Edge), so Sesame will not send to it.', 'unsupported_push_service');
  }
}
