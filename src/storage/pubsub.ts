import { EventEmitter } from 'node:events';
import type pg from 'pg';

/**
 * Wakes whoever waits for a change, on this node or another. SQLite means one node, so an
 * in-process emitter is enough; with PostgreSQL, NOTIFY reaches every node's dedicated LISTEN
 * connection. Messages carry ids only (NOTIFY payloads are capped at 8000 bytes and not replayed to
 * absent listeners), so a woken listener always re-reads the state from the database.
 */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, listener: (message: string) => void): () => void;
  /**
   * Called after the channel was down and is back: messages sent meanwhile are lost, so whoever
   * waits should re-read the state it waits on.
   */
  onReconnect(listener: () => void): () => void;
  /** False while a cross-node channel is down (readiness reports it). */
  readonly connected: boolean;
  close(): Promise<void>;
}

export class LocalPubSub implements PubSub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  readonly connected = true;

  async publish(channel: string, message: string): Promise<void> {
    this.emitter.emit(channel, message);
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }

  onReconnect(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/**
 * The LISTEN connection only reads, so a socket that died silently (a network partition during
 * which PostgreSQL dropped its side) would never say so. A small query this often makes it: the
 * write meets a reset, or finds no answer within query_timeout.
 */
const PROBE_INTERVAL_MS = 5_000;
const RECONNECT_FIRST_DELAY_MS = 250;
const RECONNECT_MAX_DELAY_MS = 5_000;

/**
 * LISTEN on one dedicated connection. When it is lost (restart, failover, network reset, a
 * terminated backend) it is re-established with exponential backoff, every channel is listened to
 * again, and the reconnect listeners are told so they can catch up on what they missed.
 */
export class PostgresPubSub implements PubSub {
  private readonly local = new LocalPubSub();
  private readonly reconnected = new EventEmitter().setMaxListeners(0);
  private readonly channels = new Set<string>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lostOnce = false;
  private closed = false;

  constructor(
    /** The driver, loaded by openDatabase only for PostgreSQL. */
    private readonly driver: typeof pg,
    private readonly connection: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly onError: (error: Error) => void,
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Opens the LISTEN connection now, so readiness can report on it before anyone subscribes. */
  start(): Promise<void> {
    return this.ensureListening();
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [channel, message]);
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    const unsubscribe = this.local.subscribe(channel, listener);
    if (!this.channels.has(channel)) {
      this.channels.add(channel);
      // While disconnected, the reconnect listens to every channel in the set.
      this.client?.query(`listen ${quoteIdent(channel)}`).catch((e) => this.onError(e));
    }
    return unsubscribe;
  }

  onReconnect(listener: () => void): () => void {
    this.reconnected.on('reconnect', listener);
    return () => this.reconnected.off('reconnect', listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.local.close();
    this.reconnected.removeAllListeners();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.listen().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async listen(): Promise<void> {
    const client = new this.driver.Client(this.connection);
    client.on('notification', (n) => { void this.local.publish(n.channel, n.payload ?? ''); });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      this.scheduleRetry();
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    // Set before listening, so that a channel subscribed to meanwhile is listened to on this client too.
    this.client = client;
    const probe = setInterval(() => {
      client.query('select 1').catch((error: Error) => {
        this.lost(client, error);
        client.end().catch(() => undefined);
      });
    }, PROBE_INTERVAL_MS);
    probe.unref();
    client.once('end', () => clearInterval(probe));
    try {
      for (const channel of this.channels) await client.query(`listen ${quoteIdent(channel)}`);
    } catch (error) {
      this.lost(client, error as Error);
      client.end().catch(() => undefined);
      return;
    }
    this.failures = 0;
    if (this.lostOnce) this.reconnected.emit('reconnect');
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.lostOnce = true;
    if (this.closed) return;
    this.onError(error ?? new Error('the LISTEN connection was closed'));
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.lostOnce = true;
    const delay = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** this.failures) * (0.75 + Math.random() / 2);
    this.failures += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ensureListening().catch((e) => this.onError(e));
    }, delay);
    this.retryTimer.unref();
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid channel name ${name}`);
  return `"${name}"`;
}
