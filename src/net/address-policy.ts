import net from 'node:net';

/**
 * Which addresses an outbound request may reach: public unicast only. Loopback, private (RFC 1918),
 * CGNAT, link-local, unique-local, multicast, documentation and reserved ranges are refused, so a
 * push endpoint or webhook URL cannot be pointed at Sesame's own network (SSRF).
 */
const nonPublic = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) nonPublic.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 127], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) nonPublic.addSubnet(prefix, bits, 'ipv6');

export interface AddressPolicy {
  /** Hosts (names or IP addresses) that may be reached even when they are not public: tests and development. */
  allowPrivate: readonly string[];
}

export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    // NAT64 (64:ff9b::/96) and IPv4-mapped addresses carry an IPv4 address: judge that one.
    const embedded = embeddedIpv4(address);
    if (embedded) return isPublicAddress(embedded);
  }
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether `address`, reached for `hostname`, may be connected to under the policy. */
export function mayConnect(policy: AddressPolicy, hostname: string, address: string): boolean {
  return isPublicAddress(address) || policy.allowPrivate.some((allowed) => sameHost(allowed, hostname) || sameHost(allowed, address));
}

function sameHost(a: string, b: string): boolean {
  const strip = (h: string) => h.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return strip(a) === strip(b);
}

function embeddedIpv4(address: string): string | undefined {
  const mapped = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
