import net from 'node:net';
import { once } from 'node:events';

/**
 * A TCP proxy between Sesame and its database, for tests that take the network away. It listens
 * when told to (until then its port refuses connections, like a database still starting), forwards
 * to a target that can change, and can "blackhole": stop forwarding in both directions without
 * closing anything, as a network partition does (each side just hears nothing). Healing forwards
 * again whatever was held back.
 */
export interface TcpProxy {
  port: number;
  listen(): Promise<void>;
  blackhole(): void;
  heal(): void;
  /** Connections accepted so far (each forwarded to the target). */
  readonly accepted: number;
  close(): Promise<void>;
}

interface Pair { client: net.Socket; upstream: net.Socket; lost: boolean }

export function tcpProxy(port: number, target: { host: string; port: number }): TcpProxy {
  const pairs = new Set<Pair>();
  let blackholed = false;
  let accepted = 0;

  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, lost: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', () => undefined).on('close', () => {
      // Across a partition nobody hears that the far side closed: the near side learns it only
      // after healing, from the reset its next write gets (a silent reader never learns).
      if (!blackholed) return end();
      pair.lost = true;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    if (blackholed) hold(pair);
  });

  // Paused sockets are not read, so nothing reaches the other side, and the kernel's buffers fill
  // as they would on a link that drops every packet; nothing is closed, so nobody hears of it.
  const hold = ({ client, upstream }: Pair) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };

  return {
    port,
    get accepted() { return accepted; },
    async listen() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    blackhole() {
      blackholed = true;
      for (const pair of pairs) hold(pair);
    },
    heal() {
      blackholed = false;
      for (const pair of pairs) {
        if (pair.lost) {
          pair.client.once('data', () => pair.client.resetAndDestroy()).resume();
        } else {
          pair.client.pipe(pair.upstream);
          pair.upstream.pipe(pair.client);
        }
      }
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
