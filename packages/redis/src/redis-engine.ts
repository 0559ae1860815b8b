import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { RedisClusterConnectionOptions } from './cluster-client.js';
import { RedisClusterConnection } from './cluster-connection.js';
import { RedisClusterSubscriber } from './cluster-subscriber.js';
import type { RedisConnectionOptions } from './connection.js';
import { RedisConnection } from './connection.js';
import { KeySpace } from './keys.js';
import { RedisBroker } from './redis-broker.js';
import { RedisPresence } from './redis-presence.js';
import { RedisRateCounter } from './redis-rate-counter.js';
import { RedisStateStore } from './redis-state.js';
import { RedisSubscriber } from './subscriber.js';
import type { RedisCommands, RedisSubscriptions } from './transport.js';

/** Options of `createRedisEngine`. Durations in ms. */
export interface RedisEngineOptions {
  /**
   * `redis://[[user][:password]@]host[:port][/db]` (or `rediss://`). Required unless `cluster`
   * lists the root nodes; with `cluster: true` it is the one root node.
   */
  readonly url?: string;
  /**
   * Sharded pub/sub (Redis 7+): SPUBLISH / SSUBSCRIBE on each channel's `{channel}` hash tag, so
   * a message goes only to the shard owning the channel's keys. Default false; implied by
   * `cluster` (and `false` together with `cluster` is rejected).
   */
  readonly shardedPubSub?: boolean;
  /**
   * Connect to a Redis Cluster: `true` uses `url` as the root node, a list gives the root node
   * URLs (credentials and TLS of the first apply to every node). Each channel's history,
   * presence and pub/sub then live on the shard owning its slot. Default: one standalone Redis.
   */
  readonly cluster?: boolean | readonly string[];
  /** Prefix of every key and pub/sub channel; must not contain braces. Default `tidings:`. */
  readonly prefix?: string;
  /** How long a connection attempt, and `broker.start`, may take. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** How long a command may wait for its reply before failing as unavailable. Default 2000. */
  readonly commandTimeoutMs?: number;
  /** Upper bound of the reconnect backoff. Default 1000. */
  readonly maxReconnectDelayMs?: number;
  /** Keep-alive PING interval, so a silent Redis is noticed; 0 disables. Default 1000. */
  readonly pingIntervalMs?: number;
  /** Stream metadata lifetime when a publish gives no positive `metaTtlMs`. Default 30 days. */
  readonly metaTtlMs?: number;
  /** Idempotency window when a publish gives none. Default 5 minutes. */
  readonly idempotencyWindowMs?: number;
  /** Client name prefix shown by `CLIENT LIST`. Default `tidings`. */
  readonly clientName?: string;
}

/** The parts of a Redis engine, ready for `NodeOptions`. */
export interface RedisEngine {
  readonly broker: RedisBroker;
  /** The same object as `broker`: the Redis broker is its own history store. */
  readonly history: RedisBroker;
  readonly presence: RedisPresence;
  /** Latest documents of state channels (`NodeOptions.state`), in Redis beside the streams. */
  readonly state: RedisStateStore;
  /** Shared rate-limit counters (`NodeOptions.rateCounter`): per-user, per-IP and per-key limits hold cluster-wide. */
  readonly rateCounter: RedisRateCounter;
  /** Closes broker and presence, releasing every connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the engine that lets many nodes share one stream per channel through one Redis (or
 * one Redis Cluster): a `RedisBroker` (broker and history) on two connections (commands and
 * pub/sub; on a cluster, two cluster clients) and a `RedisPresence` sharing the command side.
 * Nothing connects until `broker.start` (or the first presence call). Throws
 * `TIDINGS_ERR_CONFIG` for a prefix containing braces, a missing or non-`redis://` URL, or
 * `cluster` with `shardedPubSub: false`.
 */
export function createRedisEngine(options: RedisEngineOptions): RedisEngine {
  const keys = new KeySpace(options.prefix);
  const timing = {
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 1000,
    pingIntervalMs: options.pingIntervalMs ?? 1000,
  };
  const name = options.clientName ?? 'tidings';
  const roots = clusterRoots(options);
  let commands: RedisCommands;
  let subscriber: RedisSubscriptions;
  if (roots !== undefined) {
    if (options.shardedPubSub === false) {
      // Plain PUBLISH on a cluster is broadcast over the cluster bus to every shard: each
      // publication would cost every shard, and the per-channel slot ownership is lost.
      throw configError('cluster needs sharded pub/sub: leave shardedPubSub unset or true');
    }
    const cluster: RedisClusterConnectionOptions = { rootNodes: roots, ...timing };
    commands = new RedisClusterConnection(cluster, `${name}-commands`);
    subscriber = new RedisClusterSubscriber(cluster, `${name}-pubsub`);
  } else {
    const connection: RedisConnectionOptions = { url: redisUrl(options.url, 'url'), ...timing };
    commands = new RedisConnection(connection, `${name}-commands`);
    subscriber = new RedisSubscriber(new RedisConnection(connection, `${name}-pubsub`), options.shardedPubSub === true);
  }
  const broker = new RedisBroker({
    commands,
    subscriber,
    keys,
    sharded: roots !== undefined || options.shardedPubSub === true,
    scriptsSpanSlots: roots === undefined,
    connectTimeoutMs: timing.connectTimeoutMs,
    ...(options.metaTtlMs === undefined ? {} : { metaTtlMs: options.metaTtlMs }),
    ...(options.idempotencyWindowMs === undefined ? {} : { idempotencyWindowMs: options.idempotencyWindowMs }),
  });
  const presence = new RedisPresence({ connection: commands.retain(), keys });
  const state = new RedisStateStore({ connection: commands.retain(), keys });
  return {
    broker,
    history: broker,
    presence,
    state,
    // Shares the command connection (opened by the broker); no connection of its own.
    rateCounter: new RedisRateCounter(commands, keys),
    close: async () => {
      await broker.close();
      await presence.close();
      await state.close();
    },
  };
}

function clusterRoots(options: RedisEngineOptions): string[] | undefined {
  const cluster = options.cluster;
  if (cluster === undefined || cluster === false) return undefined;
  if (cluster === true) return [redisUrl(options.url, 'url')];
  if (cluster.length === 0) throw configError('cluster: give at least one root node URL');
  return cluster.map((url, i) => redisUrl(url, `cluster[${i}]`));
}

function redisUrl(url: string | undefined, what: string): string {
  if (url === undefined) throw configError(`${what}: a Redis URL is required`);
  if (!/^rediss?:\/\/[^/]/.test(url)) throw configError(`${what}: must be a redis:// or rediss:// URL`);
  return url;
}

function configError(message: string): TidingsError {
  return new TidingsError(TidingsErrorCode.Config, `redis.${message}`);
}
