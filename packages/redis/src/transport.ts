import { isTidingsError } from '@tidings/protocol';
import type { LuaScript, Reply } from './connection.js';

/**
 * The command side of an engine: one standalone connection (`RedisConnection`) or a Redis
 * Cluster client (`RedisClusterConnection`). Every failure, including no reply within the
 * command timeout, rejects with `TIDINGS_ERR_UNAVAILABLE`.
 */
export interface RedisCommands {
  /** True while commands can run (for `/readyz`). */
  readonly ready: boolean;
  /** Connects (retrying in the background until `close`); rejects as unavailable after `waitMs`. */
  open(waitMs: number): Promise<void>;
  /**
   * Runs one command with binary replies. `routingKey` is the key (or shard channel) that picks
   * the cluster node; a standalone connection ignores it.
   */
  command(args: ReadonlyArray<string | Buffer>, routingKey?: string): Promise<Reply>;
  /** Runs a script with EVALSHA, loading it with EVAL on NOSCRIPT; routed by `keys[0]`. */
  eval(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<Reply>;
  /** Adds a user; each user calls `close` once. */
  retain(): this;
  /** Releases one user; the last one closes. */
  close(): void;
}

/** Receives one pub/sub message: payload and Redis channel name, both raw bytes. */
export type PubSubListener = (message: Buffer, channel: Buffer) => void;

/**
 * The subscriber side of an engine: plain (SUBSCRIBE) or sharded (SSUBSCRIBE) pub/sub on a
 * standalone Redis, or sharded pub/sub on a Redis Cluster. Subscriptions survive reconnects
 * (the client resubscribes); `onRestored` reports each such reconnect, because what was
 * published meanwhile was not delivered.
 */
export interface RedisSubscriptions {
  /** True while every connection carrying subscriptions is up. */
  readonly ready: boolean;
  /** Connects; rejects with `TIDINGS_ERR_UNAVAILABLE` after `waitMs` (retries continue). */
  open(waitMs: number): Promise<void>;
  /**
   * Subscribes `listener` to these Redis channels; rejects with `TIDINGS_ERR_UNAVAILABLE` when
   * Redis does not confirm within the command timeout, leaving none of them subscribed locally.
   */
  subscribe(names: readonly string[], listener: PubSubListener): Promise<void>;
  /** Removes `listener` from these channels at once; the server-side confirmation is bounded. */
  unsubscribe(names: readonly string[], listener: PubSubListener): Promise<void>;
  /**
   * PSUBSCRIBE `listener` to these glob patterns (plain pub/sub only: patterns never see
   * SPUBLISH). Absent on sharded subscribers. Same failure contract as `subscribe`.
   */
  pSubscribe?(patterns: readonly string[], listener: PubSubListener): Promise<void>;
  pUnsubscribe?(patterns: readonly string[], listener: PubSubListener): Promise<void>;
  /** Sets the callback run after a lost subscriber connection is back and resubscribed. */
  onRestored(callback: () => void): void;
  /** Closes every subscriber connection. Idempotent. */
  close(): void;
}

/** EVALSHA, then EVAL when the server does not know the script (restart, flush, new node). */
export async function evalScript(
  run: (args: ReadonlyArray<string | Buffer>) => Promise<Reply>,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | Buffer>,
): Promise<Reply> {
  try {
    return await run(['EVALSHA', script.sha1, String(keys.length), ...keys, ...args]);
  } catch (err) {
    if (!(isTidingsError(err) && String((err.cause as Error | undefined)?.message).startsWith('NOSCRIPT'))) throw err;
    return run(['EVAL', script.source, String(keys.length), ...keys, ...args]);
  }
}
