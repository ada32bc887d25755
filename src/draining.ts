/**
 * The process is shutting down. Long-lived responses (the cross-device event stream) register
 * here so they can be ended with a "reconnect" event instead of holding the process open;
 * readiness reports the node unready from the first moment.
 */
export class Draining {
  private readonly listeners = new Set<() => void>();
  private started = false;

  get active(): boolean {
    return this.started;
  }

  /** Runs `listener` when draining starts (at once if it already has). */
  onStart(listener: () => void): () => void {
    if (this.started) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const listener of this.listeners) listener();
    this.listeners.clear();
  }
}
