import type { CodecName } from '@tidings/protocol';

/**
 * The client transports `tidings bench` speaks. Each is one adapter file in this folder:
 * - `centrifuge-ws`: Centrifuge client protocol over WebSocket (Tidings, raw-ws peer),
 * - `tidings-sse`, `tidings-ndjson`: Tidings' one-way HTTP streams (docs/transports.md),
 * - `socketio`: Socket.IO 4, websocket transport only (bench/peers/socketio-server.mjs),
 * - `nchan-ws`, `nchan-sse`: Nchan's websocket and EventSource subscribers (bench/peers/nchan.conf).
 */
export const transportNames = [
  'centrifuge-ws',
  'tidings-sse',
  'tidings-ndjson',
  'socketio',
  'nchan-ws',
  'nchan-sse',
] as const;

/** One of {@link transportNames}. */
export type TransportName = (typeof transportNames)[number];

/** What every subscriber of one worker shares: where to connect and as whom. */
export interface AdapterConfig {
  /** Subscriber endpoint; each adapter documents the URL it expects. */
  readonly url: string;
  /** Connection token, when the server wants one; omitted for anonymous subscribers. */
  readonly token?: string;
  /** Wire codec, for adapters that have a choice (`centrifuge-ws`); others ignore it. */
  readonly codec: CodecName;
}

/**
 * Per-worker callbacks, shared by every subscriber of the worker: the hot path (`delivery`) is
 * one method call with a number, no allocation.
 */
export interface DeliverySink {
  /** One publication arrived; `sentAtUs` is its embedded send time (µs), -1 when it held none. */
  delivery(sentAtUs: number): void;
  /** A frame or line that could not be decoded. */
  protocolError(): void;
  /**
   * The server ended the subscription on its own, whatever the phase (counted even while the
   * run stops): an unsubscribe or disconnect push, or a close frame it sent first with a code
   * other than 1000. Without it a subscriber the server dropped would only show as missing
   * deliveries.
   */
  dropped(): void;
}

/** Per-subscriber callbacks; the worker guards them, so an adapter may call them more than once. */
export interface SubscriberHooks {
  /** The subscriber is subscribed (`true`) or failed to open or subscribe (`false`); the first call counts. */
  settle(ok: boolean): void;
  /** The connection ended (after or instead of `settle`); counted as a disconnect unless the worker is stopping. */
  closed(): void;
}

/** One open subscriber. */
export interface Subscriber {
  /** Closes gracefully; `hooks.closed` follows once the connection is gone. */
  close(): void;
  /** Drops the connection at once (after a graceful close took too long). */
  destroy(): void;
}

/**
 * A client transport: opens subscribers of one channel from one source address. Adapters only
 * move bytes and find each delivery's send time; counting and latency live in the worker.
 */
export interface ClientAdapter {
  /**
   * Opens a subscriber to `channel` with its socket bound to `localAddress` (a 127.0.0.x).
   * Never throws for network failures: they arrive as `settle(false)` or `closed()`.
   */
  open(channel: string, localAddress: string, hooks: SubscriberHooks): Subscriber;
}

/** Builds a worker's adapter; one per transport name. */
export type AdapterFactory = (config: AdapterConfig, sink: DeliverySink) => ClientAdapter;
