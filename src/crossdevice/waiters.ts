import type { PubSub } from '../storage/pubsub.js';

export const CROSSDEVICE_CHANNEL = 'sesame_crossdevice';

/**
 * Desktop pages waiting on a cross-device request. One subscription to the channel per node,
 * dispatched by request id; `changed` publishes to every node (NOTIFY on PostgreSQL). When the
 * channel comes back after an outage every waiter is woken, since a NOTIFY sent meanwhile is lost
 * and each waiter re-reads its request anyway. This is what lets an event stream re-read its
 * request on its own only rarely (a safety net, not the way changes arrive).
 */
export class CrossDeviceWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly pubsub: PubSub) {
    pubsub.onReconnect(() => {
      for (const listeners of this.waiting.values()) for (const listener of listeners) listener();
    });
  }

  changed(requestId: string): Promise<void> {
    return this.pubsub.publish(CROSSDEVICE_CHANNEL, requestId);
  }

  wait(requestId: string, onChange: () => void): () => void {
    this.unsubscribe ??= this.pubsub.subscribe(CROSSDEVICE_CHANNEL, (id) => {
      for (const listener of this.waiting.get(id) ?? []) listener();
    });
    let listeners = this.waiting.get(requestId);
    if (!listeners) this.waiting.set(requestId, (listeners = new Set()));
    listeners.add(onChange);
    return () => {
      listeners.delete(onChange);
      if (listeners.size === 0) this.waiting.delete(requestId);
    };
  }
}
