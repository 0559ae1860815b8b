import type { RedisConnectionOptions } from './connection.js';
import { RedisConnection } from './connection.js';
import { KeySpace } from './keys.js';
import { RedisBroker } from './redis-broker.js';
import { RedisPresence } from './redis-presence.js';

/** Options of `createRedisEngine`. Durations in ms. */
export interface RedisEngineOptions {
  /** `redis://[[user][:password]@]host[:port][/db]` (or `rediss://`). */
  readonly url: string;
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
  /** Closes broker and presence, releasing every connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the engine that lets many nodes share one stream per channel through one Redis:
 * a `RedisBroker` (broker and history) on two connections (commands and pub/sub) and a
 * `RedisPresence` sharing the command connection. Nothing connects until `broker.start` (or
 * the first presence call). Throws `TIDINGS_ERR_CONFIG` for a prefix containing braces.
 */
export function createRedisEngine(options: RedisEngineOptions): RedisEngine {
  const keys = new KeySpace(options.prefix);
  const connection: RedisConnectionOptions = {
    url: options.url,
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 1000,
    pingIntervalMs: options.pingIntervalMs ?? 1000,
  };
  const name = options.clientName ?? 'tidings';
  const commands = new RedisConnection(connection, `${name}-commands`);
  const subscriber = new RedisConnection(connection, `${name}-pubsub`);
  const broker = new RedisBroker({
    commands,
    subscriber,
    keys,
    connectTimeoutMs: connection.connectTimeoutMs,
    ...(options.metaTtlMs === undefined ? {} : { metaTtlMs: options.metaTtlMs }),
    ...(options.idempotencyWindowMs === undefined ? {} : { idempotencyWindowMs: options.idempotencyWindowMs }),
  });
  const presence = new RedisPresence({ connection: commands.retain(), keys });
  return {
    broker,
    history: broker,
    presence,
    close: async () => {
      await broker.close();
      await presence.close();
    },
  };
}
