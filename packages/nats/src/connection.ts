import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { isTidingsError, TidingsError, TidingsErrorCode } from '@tidings/protocol';

/** Options of a `NatsConnector`. Durations in ms. */
export interface NatsConnectorOptions {
  /** `host:port` or `nats://host:port` entries. */
  readonly servers: string | readonly string[];
  readonly connectTimeoutMs: number;
  /** How long a JetStream request (publish, get, purge) may take before failing as unavailable. */
  readonly requestTimeoutMs: number;
  /** Wait between reconnect attempts. */
  readonly reconnectDelayMs: number;
  /** Interval of the client's PINGs; two missed answers count as a disconnect. */
  readonly pingIntervalMs: number;
  /** Connection name shown by the server's monitoring. */
  readonly name: string;
  /** Runs after every (re)connect, before `ready` turns true (e.g. creating streams). */
  readonly prepare: (jsm: JetStreamManager) => Promise<void>;
}

/** A live connection with its JetStream handles. */
export interface NatsHandles {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/**
 * One NATS connection shared by a broker and a presence store: connects on first use, reconnects
 * forever after, and knows whether it is connected right now, so callers fail fast
 * (`TIDINGS_ERR_UNAVAILABLE`) instead of letting the client buffer a publish it may never send.
 * A first connect that failed is retried by the next use, at most once per reconnect delay.
 */
export class NatsConnector {
  readonly #options: NatsConnectorOptions;
  readonly #reconnectListeners = new Set<() => void>();
  readonly #connectListeners = new Set<(handles: NatsHandles) => void>();
  #handles: NatsHandles | undefined;
  #connecting: Promise<NatsHandles> | undefined;
  #lastFailure = Number.NEGATIVE_INFINITY;
  #connected = false;
  #users = 1;
  #closed = false;

  constructor(options: NatsConnectorOptions) {
    this.#options = options;
  }

  /** True while connected and prepared. */
  get ready(): boolean {
    return this.#connected && !this.#closed;
  }

  /** Registers a callback run after each successful reconnect (not the first connect). */
  onReconnect(listener: () => void): void {
    this.#reconnectListeners.add(listener);
  }

  /** Registers a callback run once the connection is first made (the client resubscribes by itself after reconnects). */
  onConnect(listener: (handles: NatsHandles) => void): void {
    this.#connectListeners.add(listener);
  }

  /** Counts one more user; each user calls `close` once and the last one closes the connection. */
  retain(): this {
    this.#users++;
    return this;
  }

  /**
   * The connected handles. Rejects with `TIDINGS_ERR_UNAVAILABLE` when disconnected, or when
   * the server cannot be reached within the connect timeout.
   */
  async use(): Promise<NatsHandles> {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, 'NATS connection is closed');
    if (this.#handles !== undefined) {
      if (!this.#connected) throw unavailable('not connected to NATS (reconnecting)');
      return this.#handles;
    }
    if (this.#connecting === undefined) {
      if (Date.now() - this.#lastFailure < this.#options.reconnectDelayMs)
        throw unavailable('NATS is unreachable (last connect attempt failed)');
      this.#connecting = this.#connect().finally(() => {
        this.#connecting = undefined;
      });
    }
    return this.#connecting;
  }

  /** Releases one use; the last closes the connection. Idempotent per user. */
  async close(): Promise<void> {
    if (this.#closed || --this.#users > 0) return;
    this.#closed = true;
    this.#connected = false;
    const nc = this.#handles?.nc ?? (await this.#connecting?.then((h) => h.nc).catch(() => undefined));
    await nc?.close().catch(() => undefined);
  }

  async #connect(): Promise<NatsHandles> {
    const o = this.#options;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: typeof o.servers === 'string' ? o.servers : [...o.servers],
        name: o.name,
        timeout: o.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: o.reconnectDelayMs,
        reconnectJitter: 0,
        pingInterval: o.pingIntervalMs,
        maxPingOut: 2,
      });
    } catch (err) {
      this.#lastFailure = Date.now();
      throw unavailable(`cannot connect to NATS at ${String(o.servers)}`, err);
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: o.requestTimeoutMs });
      await o.prepare(jsm);
      const handles = { nc, js: jetstream(nc, { timeout: o.requestTimeoutMs }), jsm };
      if (this.#closed) throw new TidingsError(TidingsErrorCode.State, 'NATS connection is closed');
      this.#handles = handles;
      this.#connected = true;
      void this.#watch(handles);
      for (const listener of this.#connectListeners) listener(handles);
      return handles;
    } catch (err) {
      this.#lastFailure = Date.now();
      await nc.close().catch(() => undefined);
      throw toUnavailable(err, 'JetStream is not usable');
    }
  }

  async #watch(handles: NatsHandles): Promise<void> {
    for await (const status of handles.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'staleConnection') this.#connected = false;
      else if (status.type === 'reconnect') void this.#reconnected(handles);
    }
    this.#connected = false;
  }

  async #reconnected(handles: NatsHandles): Promise<void> {
    // The server may have restarted without its streams; make them again before accepting work.
    try {
      await this.#options.prepare(handles.jsm);
    } catch {
      // Publishes fail until the next reconnect prepares successfully; the stream error says why.
    }
    if (this.#closed || handles.nc.isClosed()) return;
    this.#connected = true;
    for (const listener of this.#reconnectListeners) listener();
  }
}

/** A `TIDINGS_ERR_UNAVAILABLE` error with `cause`. */
export function unavailable(message: string, cause?: unknown): TidingsError {
  return new TidingsError(TidingsErrorCode.Unavailable, message, cause === undefined ? {} : { cause });
}

/** Passes `TidingsError`s through; anything else from the NATS client becomes unavailable. */
export function toUnavailable(err: unknown, what: string): TidingsError {
  if (isTidingsError(err)) return err;
  return unavailable(`${what}: ${err instanceof Error ? err.message : String(err)}`, err);
}
