import net from 'node:net';
import { once } from 'node:events';

/**
 * A TCP proxy between Sesame and its database, for tests that take the network away. It listens
 * when told to (until then its port refuses connections, like a database still starting), forwards
 * to a target that can change, and can "blackhole": stop forwarding in both directions without
 * closing anything, as a network partition does (each side just hears nothing). Healing delivers
 * what was held back, and a side whose peer closed meanwhile gets a reset when it next writes.
 */
export interface TcpProxy {
  port: number;
  listen(): Promise<void>;
  blackhole(): void;
  /** New connections go to `target` from now on (a load balancer taking a node out); open ones stay. */
  retarget(target: { host: string; port: number }): void;
  heal(): void;
  /** Connections accepted so far (each forwarded to the target). */
  readonly accepted: number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** What each side sent during the partition: delivered after healing, as TCP retransmits it. */
  held: { up: Buffer[]; down: Buffer[] };
  /** The far side closed during the partition. */
  lost: boolean;
}

export function tcpProxy(port: number, target: { host: string; port: number }): TcpProxy {
  const pairs = new Set<Pair>();
  let blackholed = false;
  let accepted = 0;

  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, held: { up: [], down: [] }, lost: false };
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
    forward(pair);
    if (blackholed) hold(pair);
  });

  const forward = ({ client, upstream }: Pair) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const heldBy = new WeakMap<Pair, [(b: Buffer) => void, (b: Buffer) => void]>();
  // Both sides are still read, so a close on the far side is noticed here, but nothing is passed on.
  const hold = (pair: Pair) => {
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    const listeners: [(b: Buffer) => void, (b: Buffer) => void] = [(b) => pair.held.up.push(b), (b) => pair.held.down.push(b)];
    heldBy.set(pair, listeners);
    // unpipe paused them, and a data listener alone does not resume a paused stream.
    pair.client.on('data', listeners[0]).resume();
    pair.upstream.on('data', listeners[1]).resume();
  };
  const release = (pair: Pair) => {
    const [up, down] = heldBy.get(pair)!;
    pair.client.off('data', up);
    pair.upstream.off('data', down);
    if (pair.lost) {
      if (pair.held.up.length) pair.client.resetAndDestroy();
      else pair.client.once('data', () => pair.client.resetAndDestroy()).resume();
      return;
    }
    for (const chunk of pair.held.up.splice(0)) pair.upstream.write(chunk);
    for (const chunk of pair.held.down.splice(0)) pair.client.write(chunk);
    forward(pair);
  };

  return {
    port,
    get accepted() { return accepted; },
    retarget(next) { target = next; },
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
      for (const pair of pairs) release(pair);
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
