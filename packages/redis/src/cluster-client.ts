import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { createCluster } from 'redis';
import { redactUrl } from './connection.js';

/** Connection options of a Redis Cluster client. Durations in ms. */
export interface RedisClusterConnectionOptions {
  /** Root nodes, `redis://[[user][:password]@]host[:port]` (or `rediss://`); any one reachable suffices. */
  readonly rootNodes: readonly string[];
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  /** Keep-alive PING interval per master (command side only); 0 disables. */
  readonly pingIntervalMs: number;
}

/** The node-redis cluster client type as `createCluster` returns it. */
export type NodeRedisCluster = ReturnType<typeof createCluster>;

/** Node address as node-redis reports it in `node-*` events. */
interface NodeInfo {
  readonly host: string;
  readonly port: number;
}

/**
 * A node-redis cluster client plus what node-redis leaves to the caller: a first connect that
 * keeps retrying in the background (node-redis gives up when no root node answers), and the
 * health of each node connection, from node-redis's `node-error` / `node-reconnecting` /
 * `node-ready` events, so readiness turns false as soon as one master's connection is down.
 *
 * Credentials and TLS come from the first root node URL and apply to every discovered node
 * (node-redis connects discovered nodes from `defaults` only).
 */
export class ClusterClient {
  readonly cluster: NodeRedisCluster;
  readonly #options: RedisClusterConnectionOptions;
  /** Addresses (`host:port`) whose connection failed and has not been ready since. */
  readonly #down = new Set<string>();
  /** Addresses whose connection was ready at least once. */
  readonly #seen = new Set<string>();
  #connecting: Promise<void> | undefined;
  #closed = false;
  #onRestored: (address: string) => void = () => {};

  /** `minimizeConnections`: connect only the connections used (pub/sub), not one per master. */
  constructor(options: RedisClusterConnectionOptions, name: string, minimizeConnections: boolean) {
    const [first] = options.rootNodes;
    if (first === undefined) throw new TidingsError(TidingsErrorCode.Config, 'redis cluster: no root node given');
    this.#options = options;
    const url = new URL(first);
    const credentials = {
      ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
      ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    };
    const reconnectStrategy = (retries: number) =>
      Math.min(25 * 2 ** Math.min(retries, 10), options.maxReconnectDelayMs);
    this.cluster = createCluster({
      rootNodes: options.rootNodes.map((u) => ({ url: u })),
      minimizeConnections,
      defaults: {
        name,
        disableOfflineQueue: true,
        ...credentials,
        socket: {
          connectTimeout: options.connectTimeoutMs,
          reconnectStrategy,
          ...(url.protocol === 'rediss:' ? { tls: true as const } : {}),
        },
      },
    });
    // Without a listener an 'error' event would crash the process; failures reach callers as
    // rejected commands and through `up`.
    this.cluster.on('error', () => undefined);
    this.cluster.on('sharded-channel-moved-error', () => undefined);
    this.cluster.on('node-error', (_err: unknown, node: NodeInfo) => this.#nodeDown(node));
    this.cluster.on('node-reconnecting', (node: NodeInfo) => this.#nodeDown(node));
    this.cluster.on('node-ready', (node: NodeInfo) => this.#nodeUp(node));
  }

  /** True while the topology is known and no master's connection is down. */
  get up(): boolean {
    if (this.#closed || !this.cluster.isReady) return false;
    return this.#down.size === 0 || this.cluster.masters.every((m) => !this.#down.has(m.address));
  }

  /** Sets the callback run when a node connection that had been ready is ready again. */
  onRestored(callback: (address: string) => void): void {
    this.#onRestored = callback;
  }

  /**
   * Connects (discovering the topology), retrying in the background until `close`. Resolves
   * when connected; rejects with `TIDINGS_ERR_UNAVAILABLE` if not within `waitMs`.
   */
  async open(waitMs: number): Promise<void> {
    this.#connecting ??= this.#connectLoop();
    if (this.cluster.isReady) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    const outcome = await Promise.race([this.#connecting.then(() => 'ready' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !this.cluster.isReady) {
      const roots = this.#options.rootNodes.map(redactUrl).join(', ');
      throw new TidingsError(TidingsErrorCode.Unavailable, `redis cluster: not reachable at ${roots}`);
    }
  }

  /** True once `open` (or a first command) started connecting. */
  get started(): boolean {
    return this.#connecting !== undefined;
  }

  /** Closes every connection, dropping pending commands. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.cluster.isOpen) this.cluster.destroy();
  }

  async #connectLoop(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        await this.cluster.connect();
        if (this.#closed) this.cluster.destroy();
        return;
      } catch {
        const delay = Math.min(25 * 2 ** Math.min(attempt, 10), this.#options.maxReconnectDelayMs);
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  #nodeDown(node: NodeInfo): void {
    this.#down.add(`${node.host}:${node.port}`);
  }

  #nodeUp(node: NodeInfo): void {
    const address = `${node.host}:${node.port}`;
    const restored = this.#down.delete(address) && this.#seen.has(address);
    this.#seen.add(address);
    if (restored && !this.#closed) this.#onRestored(address);
  }
}
