import { createHash } from 'node:crypto';
import { isTidingsError, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { createClient, RESP_TYPES, TimeoutError } from 'redis';
import { evalScript, type RedisCommands } from './transport.js';

/** Connection options shared by every Redis connection of an engine. */
export interface RedisConnectionOptions {
  /** `redis://[[user][:password]@]host[:port][/db]` or `rediss://...`. */
  readonly url: string;
  /** How long one connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** How long a command may wait for its reply before it is rejected as unavailable. */
  readonly commandTimeoutMs: number;
  /** Upper bound of the reconnect backoff. */
  readonly maxReconnectDelayMs: number;
  /**
   * Interval of keep-alive PINGs, each bounded by the command timeout, so a silent peer (e.g. a
   * paused Redis whose TCP connection stays open) is noticed. 0 disables them.
   */
  readonly pingIntervalMs: number;
}

type NodeRedisClient = ReturnType<typeof createClient>;

/** The reply types the engine reads: bulk strings arrive as `Buffer`, integers as `number`. */
export type Reply = Buffer | number | null | Reply[];

/** Binary-safe replies: publication bodies are arbitrary bytes. */
export const binaryReplies = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const;

/**
 * One node-redis client configured to fail fast: no offline queue (a command issued while
 * disconnected rejects at once instead of waiting for a reconnect), a per-command timeout, and
 * background reconnects with capped exponential backoff. Every failure surfaces as
 * `TIDINGS_ERR_UNAVAILABLE`, so callers never acknowledge what Redis did not confirm.
 *
 * The first command connects if `open` was not called (waiting at most the connect timeout).
 * A connection may be shared: `retain` adds a user, and the last `close` destroys it.
 *
 * Stalls: a socket to a paused or hung Redis stays open, so node-redis keeps reporting it ready.
 * A command or keep-alive PING that gets no reply within the command timeout marks the
 * connection stalled: `ready` turns false and commands fail fast (nothing piles up to run
 * unacknowledged later) until a keep-alive PING is answered again.
 */
export class RedisConnection implements RedisCommands {
  readonly client: NodeRedisClient;
  readonly #options: RedisConnectionOptions;
  readonly #onState: (ready: boolean) => void;
  #connecting: Promise<unknown> | undefined;
  #refs = 1;
  #stalled = false;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(options: RedisConnectionOptions, name: string, onState: (ready: boolean) => void = () => {}) {
    this.#options = options;
    this.#onState = onState;
    this.client = createClient({
      url: options.url,
      name,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.connectTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(25 * 2 ** Math.min(retries, 10), options.maxReconnectDelayMs),
      },
    });
    // node-redis emits 'error' on every failed attempt; without a listener that would crash the
    // process. Reconnects are automatic, state changes are reported through onState.
    this.client.on('error', () => this.#onState(false));
    this.client.on('end', () => this.#onState(false));
    this.client.on('ready', () => {
      // A new socket answered its handshake, so it is not stalled.
      this.#stalled = false;
      this.#onState(true);
    });
  }

  /** True while the connection can run commands: connected and not stalled. */
  get ready(): boolean {
    return this.client.isReady && !this.#stalled;
  }

  /**
   * Opens the connection (retrying in the background until `close`). Resolves when ready;
   * rejects with `TIDINGS_ERR_UNAVAILABLE` if not ready within `waitMs`, while reconnect
   * attempts go on.
   */
  async open(waitMs: number): Promise<void> {
    if (this.#connecting === undefined) {
      this.#connecting = this.client.connect().catch(() => undefined);
      this.#startProbe();
    }
    if (this.client.isReady) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    });
    const ready = new Promise<'ready'>((resolve) => this.client.once('ready', () => resolve('ready')));
    const outcome = await Promise.race([ready, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !this.client.isReady) {
      throw new TidingsError(TidingsErrorCode.Unavailable, `redis: not reachable at ${redactUrl(this.#options.url)}`);
    }
  }

  /**
   * Runs one command with binary replies; any failure rejects with `TIDINGS_ERR_UNAVAILABLE`.
   * `_routingKey` is for cluster connections: one standalone Redis holds every key.
   */
  async command(args: ReadonlyArray<string | Buffer>, _routingKey?: string): Promise<Reply> {
    if (this.#connecting === undefined && this.#refs > 0) await this.open(this.#options.connectTimeoutMs);
    if (!this.client.isReady) throw unavailable(`${args[0]}: not connected`);
    if (this.#stalled) throw unavailable(`${args[0]}: no reply from Redis within ${this.#options.commandTimeoutMs} ms`);
    return this.#send(args);
  }

  async #send(args: ReadonlyArray<string | Buffer>): Promise<Reply> {
    // node-redis drops its `timeout` once a command is written, so a written command to a paused
    // Redis would wait forever: bound the wait here. The command may still run later; the caller
    // was told "unavailable", never "done".
    const pending = this.client.sendCommand<Reply>(args, {
      timeout: this.#options.commandTimeoutMs,
      typeMapping: binaryReplies,
    });
    pending.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), this.#options.commandTimeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (err) {
      if (err instanceof TimeoutError) this.#setStalled(true);
      throw isTidingsError(err) ? err : unavailable(`${args[0]} failed`, err);
    } finally {
      clearTimeout(timer);
    }
  }

  #startProbe(): void {
    if (this.#options.pingIntervalMs <= 0) return;
    this.#probe = setInterval(() => {
      if (this.#probing || !this.client.isReady) return;
      this.#probing = true;
      this.#send(['PING'])
        .then(
          () => this.#setStalled(false),
          () => undefined,
        )
        .finally(() => {
          this.#probing = false;
        });
    }, this.#options.pingIntervalMs);
    this.#probe.unref();
  }

  #setStalled(stalled: boolean): void {
    if (this.#stalled === stalled) return;
    this.#stalled = stalled;
    this.#onState(this.ready);
  }

  /**
   * Waits for a command node-redis queues regardless of the connection state (SUBSCRIBE,
   * UNSUBSCRIBE) at most the command timeout; failures become `TIDINGS_ERR_UNAVAILABLE`.
   */
  async bounded<T>(pending: Promise<T>, what: string): Promise<T> {
    return bounded(pending, what, this.#options.commandTimeoutMs);
  }

  /** Runs a script with EVALSHA, loading it with EVAL when Redis does not know it (restart, flush). */
  async eval(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<Reply> {
    return evalScript((a) => this.command(a), script, keys, args);
  }

  /** Adds a user of this connection; each user calls `close` once. */
  retain(): this {
    this.#refs++;
    return this;
  }

  /** Releases one user; the last one closes the connection, dropping pending commands. */
  close(): void {
    if (this.#refs === 0) return;
    this.#refs--;
    if (this.#refs > 0) return;
    clearInterval(this.#probe);
    if (this.client.isOpen) this.client.destroy();
  }
}

/** A Lua script and its SHA1 digest, for EVALSHA. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

/** Wraps Lua source with its digest. */
export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * Waits for `pending` at most `timeoutMs`; a timeout or any failure rejects with
 * `TIDINGS_ERR_UNAVAILABLE` (the operation may still complete later, unacknowledged). A timeout
 * carries a node-redis `TimeoutError` as its cause (see `isTimeout`).
 */
export async function bounded<T>(pending: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unavailable(`${what}: no reply within ${timeoutMs} ms`, new TimeoutError())),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    throw isTidingsError(err) ? err : unavailable(`${what} failed`, err);
  } finally {
    clearTimeout(timer);
  }
}

/** True for an error that reports a reply not received in time (not a refused or lost connection). */
export function isTimeout(err: unknown): boolean {
  return err instanceof TimeoutError || (isTidingsError(err) && err.cause instanceof TimeoutError);
}

/** A `TIDINGS_ERR_UNAVAILABLE` error for a Redis operation that did not complete. */
export function unavailable(what: string, cause?: unknown): TidingsError {
  return new TidingsError(TidingsErrorCode.Unavailable, `redis: ${what}`, {
    temporary: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The URL without its password, for messages: secrets are never logged (DESIGN.md §1.6). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
