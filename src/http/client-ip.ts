import net from 'node:net';

/**
 * The one place that decides a request's client address; rate limits, logs and the phone's
 * approval page all use its answer. X-Forwarded-For is read from the right: each trusted proxy
 * appends the address it received the request from, while everything to the left of the nearest
 * trusted entry was written by the client and proves nothing.
 */
export type ClientIpResolver = (remoteAddress: string | undefined, forwardedFor: string | undefined) => string;

export function clientIpResolver(trust: number | string[]): ClientIpResolver {
  if (typeof trust === 'number') {
    return (remote, forwarded) => {
      const chain = [...forwardedAddresses(trust > 0 ? forwarded : undefined), normalise(remote ?? '')];
      return chain[Math.max(0, chain.length - 1 - trust)];
    };
  }
  const trusted = new net.BlockList();
  for (const entry of trust) {
    const [address, bits] = entry.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  const isTrusted = (address: string) => net.isIP(address) !== 0 && trusted.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  return (remote, forwarded) => {
    const chain = forwardedAddresses(forwarded);
    let address = normalise(remote ?? '');
    while (isTrusted(address) && chain.length > 0) address = chain.pop()!;
    return address;
  };
}

/** Entries up to the first one that is not an IP address (a proxy that writes garbage is not believed beyond it). */
function forwardedAddresses(header: string | undefined): string[] {
  if (!header) return [];
  const entries = header.split(',').map((e) => normalise(e.trim()));
  let start = entries.length;
  while (start > 0 && net.isIP(entries[start - 1]) !== 0) start--;
  return entries.slice(start);
}

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}
