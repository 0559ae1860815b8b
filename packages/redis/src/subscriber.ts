import type { RedisConnection } from './connection.js';
import type { PubSubListener, RedisSubscriptions } from './transport.js';

/**
 * Pub/sub on one standalone Redis connection, dedicated to it: SUBSCRIBE / UNSUBSCRIBE, or with
 * `sharded` SSUBSCRIBE / SUNSUBSCRIBE (Redis 7+; the publisher must then use SPUBLISH).
 *
 * node-redis resubscribes every listener after a reconnect; `onRestored` runs once per reconnect
 * that followed a loss of a connection that had been ready (not for the first connect).
 */
export class RedisSubscriber implements RedisSubscriptions {
  readonly #connection: RedisConnection;
  readonly #sharded: boolean;
  #restored: () => void = () => {};
  #wasReady = false;
  #lost = false;

  constructor(connection: RedisConnection, sharded: boolean) {
    this.#connection = connection;
    this.#sharded = sharded;
    const client = connection.client;
    client.on('error', () => this.#down());
    client.on('end', () => this.#down());
    client.on('ready', () => this.#up());
  }

  get ready(): boolean {
    return this.#connection.ready;
  }

  open(waitMs: number): Promise<void> {
    return this.#connection.open(waitMs);
  }

  async subscribe(names: readonly string[], listener: PubSubListener): Promise<void> {
    const client = this.#connection.client;
    const list = [...names];
    const pending = this.#sharded ? client.sSubscribe(list, listener, true) : client.subscribe(list, listener, true);
    try {
      await this.#connection.bounded(pending, this.#sharded ? 'SSUBSCRIBE' : 'SUBSCRIBE');
    } catch (err) {
      // node-redis keeps the listener and would subscribe on reconnect; drop it now.
      this.#remove(list, listener).catch(() => undefined);
      throw err;
    }
  }

  async unsubscribe(names: readonly string[], listener: PubSubListener): Promise<void> {
    await this.#connection
      .bounded(this.#remove([...names], listener), this.#sharded ? 'SUNSUBSCRIBE' : 'UNSUBSCRIBE')
      .catch(() => undefined);
  }

  async pSubscribe(patterns: readonly string[], listener: PubSubListener): Promise<void> {
    const client = this.#connection.client;
    const list = [...patterns];
    try {
      await this.#connection.bounded(client.pSubscribe(list, listener, true), 'PSUBSCRIBE');
    } catch (err) {
      client.pUnsubscribe(list, listener, true).catch(() => undefined);
      throw err;
    }
  }

  async pUnsubscribe(patterns: readonly string[], listener: PubSubListener): Promise<void> {
    await this.#connection
      .bounded(this.#connection.client.pUnsubscribe([...patterns], listener, true), 'PUNSUBSCRIBE')
      .catch(() => undefined);
  }

  onRestored(callback: () => void): void {
    this.#restored = callback;
  }

  close(): void {
    this.#connection.close();
  }

  #remove(names: string[], listener: PubSubListener): Promise<void> {
    const client = this.#connection.client;
    return this.#sharded ? client.sUnsubscribe(names, listener, true) : client.unsubscribe(names, listener, true);
  }

  #down(): void {
    if (this.#wasReady) this.#lost = true;
  }

  #up(): void {
    this.#wasReady = true;
    if (!this.#lost) return;
    this.#lost = false;
    this.#restored();
  }
}
