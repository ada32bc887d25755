/** How many live-update streams this node keeps open: per cross-device request, and per client network. */
export interface EventStreamLimits {
  perRequest: number;
  perNetwork: number;
}

interface OpenStream {
  requestId: string;
  network: string;
  replace: () => void;
  released: boolean;
}

/**
 * The desktop pages following a cross-device request live (Server-Sent Events) on this node. Each
 * holds a socket for up to the request's two minutes, so their number is bounded: a page needs
 * one stream (two cover a reconnect whose old socket has not noticed it is gone yet), so a further
 * stream for the same request replaces the oldest; and one network may hold only so many, beyond
 * which its pages poll instead. Counted per node, in memory: the streams themselves are per node.
 */
export class EventStreamRegistry {
  private readonly byRequest = new Map<string, OpenStream[]>();
  private readonly byNetwork = new Map<string, number>();

  constructor(private readonly limits: EventStreamLimits) {}

  /** Whether `network` holds as many streams as it may (checked before any work is done for a new one). */
  full(network: string): boolean {
    return (this.byNetwork.get(network) ?? 0) >= this.limits.perNetwork;
  }

  /**
   * Registers a stream, replacing (calling `replace` of) the oldest of its request when that has
   * too many. Answers the function that unregisters it, or undefined when its network is full.
   */
  open(requestId: string, network: string, replace: () => void): (() => void) | undefined {
    if (this.full(network)) return undefined;
    const siblings = this.byRequest.get(requestId) ?? [];
    const replaced = siblings.length >= this.limits.perRequest ? siblings[0] : undefined;
    const stream: OpenStream = { requestId, network, replace, released: false };
    this.byRequest.set(requestId, [...siblings, stream]);
    this.byNetwork.set(network, (this.byNetwork.get(network) ?? 0) + 1);
    if (replaced) {
      this.release(replaced);
      replaced.replace();
    }
    return () => this.release(stream);
  }

  private release(stream: OpenStream): void {
    if (stream.released) return;
    stream.released = true;
    const siblings = (this.byRequest.get(stream.requestId) ?? []).filter((s) => s !== stream);
    if (siblings.length) this.byRequest.set(stream.requestId, siblings);
    else this.byRequest.delete(stream.requestId);
    const count = (this.byNetwork.get(stream.network) ?? 1) - 1;
    if (count > 0) this.byNetwork.set(stream.network, count);
    else this.byNetwork.delete(stream.network);
  }
}
