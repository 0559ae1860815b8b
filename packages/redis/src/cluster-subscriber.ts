import { ClusterClient, type RedisClusterConnectionOptions } from './cluster-client.js';
import { bounded } from './connection.js';
import type { PubSubListener, RedisSubscriptions } from './transport.js';

// node-redis's cluster client emits this (internal, not exported from 'redis') after it moved
// subscriptions to another node on a topology change and subscribes them again there.
const RESUBSCRIBE_LISTENERS_EVENT = '__resubscribeListeners';

/**
 * Sharded pub/sub on a Redis Cluster, on its own cluster client (no command connections):
 * node-redis opens one sharded pub/sub connection per master that owns a subscribed channel
 * and sends each SSUBSCRIBE there. Channels are subscribed one by one, because one SSUBSCRIBE
 * may only name channels of one slot and each Tidings channel has its own hash tag.
 *
 * Reconnects: node-redis resubscribes a reconnected shard connection by itself (before it
 * reports the connection ready), and moves subscriptions after a topology change (a
 * `sunsubscribe` push, MOVED). Either may have lost messages, so `onRestored` runs for both.
 * After a move, node-redis does not let the caller wait for the new SSUBSCRIBE: the signal may
 * precede its confirmation, and a publication in that window is found by the offset of the
 * next one, as any lost pub/sub message.
 */
export class RedisClusterSubscriber implements RedisSubscriptions {
  readonly #client: ClusterClient;
  readonly #commandTimeoutMs: number;
  #restored: () => void = () => {};

  constructor(options: RedisClusterConnectionOptions, name: string) {
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#client = new ClusterClient(options, name, true);
    this.#client.onRestored(() => this.#restored());
    this.#client.cluster.on(RESUBSCRIBE_LISTENERS_EVENT, () => queueMicrotask(() => this.#restored()));
  }

  /** True while the topology is known and no shard pub/sub connection is down. */
  get ready(): boolean {
    return this.#client.up;
  }

  open(waitMs: number): Promise<void> {
    return this.#client.open(waitMs);
  }

  async subscribe(names: readonly string[], listener: PubSubListener): Promise<void> {
    const cluster = this.#client.cluster;
    const results = await Promise.allSettled(
      names.map((name) => bounded(cluster.sSubscribe(name, listener, true), 'SSUBSCRIBE', this.#commandTimeoutMs)),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed === undefined) return;
    // None stays subscribed: the caller was told the whole call failed.
    this.#remove(names, listener);
    throw failed.reason;
  }

  async unsubscribe(names: readonly string[], listener: PubSubListener): Promise<void> {
    await Promise.all(
      names.map((name) =>
        bounded(this.#sUnsubscribe(name, listener), 'SUNSUBSCRIBE', this.#commandTimeoutMs).catch(() => undefined),
      ),
    );
  }

  onRestored(callback: () => void): void {
    this.#restored = callback;
  }

  close(): void {
    this.#client.close();
  }

  #remove(names: readonly string[], listener: PubSubListener): void {
    for (const name of names) this.#sUnsubscribe(name, listener).catch(() => undefined);
  }

  async #sUnsubscribe(name: string, listener: PubSubListener): Promise<void> {
    // Before the topology is known there is nothing to unsubscribe (node-redis would throw).
    if (!this.#client.cluster.isReady) return;
    await this.#client.cluster.sUnsubscribe(name, listener, true);
  }
}
