import { EventEmitter } from 'node:events';
import pg from 'pg';

/**
 * Wakes whoever waits for a change, on this node or another. SQLite means one node, so an
 * in-process emitter is enough; with PostgreSQL, NOTIFY reaches every node's dedicated LISTEN
 * connection. Messages carry ids only (NOTIFY payloads are capped at 8000 bytes and not replayed to
 * absent listeners), so a woken listener always re-reads the state from the database.
 */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, listener: (message: string) => void): () => void;
  close(): Promise<void>;
}

export class LocalPubSub implements PubSub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: string, message: string): Promise<void> {
    this.emitter.emit(channel, message);
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

const RECONNECT_DELAY_MS = 1000;

export class PostgresPubSub implements PubSub {
  private readonly local = new LocalPubSub();
  private readonly channels = new Set<string>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly onError: (error: Error) => void,
  ) {}

  async publish(channel: string, message: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [channel, message]);
  }

  subscribe(channel: string, listener: (message: string) => void): () => void {
    const unsubscribe = this.local.subscribe(channel, listener);
    if (!this.channels.has(channel)) {
      this.channels.add(channel);
      void this.ensureListening().then(() => this.client?.query(`listen ${quoteIdent(channel)}`)).catch((e) => this.onError(e));
    }
    return unsubscribe;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.local.close();
    await this.client?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client(this.connection);
      client.on('notification', (n) => { void this.local.publish(n.channel, n.payload ?? ''); });
      client.on('error', (error) => {
        this.onError(error);
        this.client = undefined;
        this.connecting = undefined;
        if (!this.closed) setTimeout(() => this.resubscribe(), RECONNECT_DELAY_MS).unref();
      });
      await client.connect();
      for (const channel of this.channels) await client.query(`listen ${quoteIdent(channel)}`);
      this.client = client;
    })().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private resubscribe(): void {
    // Waiters re-read state when woken; a missed NOTIFY during the gap is covered by their periodic re-check.
    this.ensureListening().catch((e) => this.onError(e));
  }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid channel name ${name}`);
  return `"${name}"`;
}
