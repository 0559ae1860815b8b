/** Where a publication entered the node. */
export type PublicationSource = 'api' | 'client' | 'canary';

/**
 * Outcome of a subscribe-with-recover: `recovered`, or why not — the epoch changed, the client
 * claims a position past the stream top, or retention dropped part of what it missed.
 */
export type RecoveryResult = 'recovered' | 'epoch_changed' | 'position_ahead' | 'history_gap';

/** The engine operations whose round trips are measured. */
export type EngineOperation = 'publish' | 'history' | 'subscribe' | 'unsubscribe' | 'presence' | 'presence_stats';

/** A limit that refused something (docs/security.md): rates of commands and publishes, connection counts. */
export type LimitName = 'command_rate' | 'publish_rate' | 'connections';

/** Whose budget the refusal was counted against. */
export type LimitScope = 'connection' | 'user' | 'ip';

/** The label value of a disconnect the server did not send: the peer went away. */
export const peerClosedCode = 'peer';

/**
 * The metrics surface the core reports through. Injected into a node (`NodeOptions.metrics`);
 * when absent nothing is measured and the hot path pays one `undefined` check per flush.
 *
 * Contract: every argument is a low-cardinality label value (transport and codec names, wire
 * codes, fixed unions), never a channel, user or client id. Implementations must be cheap and
 * must not throw: they run inside the fan-out and the flush.
 */
export interface MetricsSink {
  /** A publication was accepted by the engine (counted once, on the node that published it). */
  published(source: PublicationSource): void;
  /**
   * One session flush on `transport` wrote `deliveries` publication pushes in `bytes` bytes
   * (all units of the flush, replies included). Called once per flush, not per push.
   */
  flushed(transport: string, deliveries: number, bytes: number): void;
  /**
   * End-to-end latency of `count` delivered publications of one flush: engine acceptance →
   * written to the socket.
   */
  deliveryLatency(transport: string, ms: number, count: number): void;
  /** A session ended: with the disconnect code the server sent, or `peerClosedCode`. */
  disconnected(transport: string, code: number | typeof peerClosedCode): void;
  recovery(result: RecoveryResult): void;
  /** A command, publish or connect was refused by `limit` of `scope` (answered 111 or 3504). */
  limited(limit: LimitName, scope: LimitScope): void;
  /** One engine round trip, successful or not. */
  engineCall(op: EngineOperation, ms: number, ok: boolean): void;
}
