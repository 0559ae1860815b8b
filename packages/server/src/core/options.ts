import { TidingsError, TidingsErrorCode } from '@tidings/protocol';

/** Per-connection limits and timings. */
export interface ClientOptions {
  /** Interval of server pings; sent to the client in the connect result (in seconds). */
  readonly pingIntervalMs: number;
  /** How long after a ping the client's pong may take before 3012 (no pong). */
  readonly pongTimeoutMs: number;
  /** Outbound queue bound per session (queued + transport-buffered bytes); beyond it: 3008 (slow). */
  readonly maxQueueBytes: number;
  /** Subscriptions per session; beyond it subscribe answers 106 (limit exceeded). */
  readonly maxSubscriptions: number;
  /** Commands in one frame; beyond it the session is closed with 3501 (bad request). */
  readonly maxCommandsPerFrame: number;
  /** Commands waiting to be processed per session; beyond it: 3013 (too many requests). */
  readonly maxPendingCommands: number;
  /** Time a new connection has to send its connect command; beyond it: 3502 (stale). */
  readonly connectTimeoutMs: number;
  /** Presence entry lifetime; refreshed every `presenceRefreshMs` while subscribed. */
  readonly presenceTtlMs: number;
  readonly presenceRefreshMs: number;
  /** Live publications buffered per subscription while its history is read. */
  readonly maxRecoveryBuffer: number;
  /**
   * Grace after a token's expiry before the connection closes with 3005 (or the subscription
   * with 2501), so an SDK that refreshes right at the TTL is not cut off.
   */
  readonly expiredCloseDelayMs: number;
  /**
   * 0: pending output is written in the next event-loop turn. Above 0: all sessions' output is
   * flushed together on one shared timer this long after it was queued, so throughput-heavy
   * deployments write more pushes per frame (and per syscall) for that much added latency.
   */
  readonly writeDelayMs: number;
  /**
   * How the pushes one flush writes to a bidirectional client are framed. `batch` (default):
   * one frame, newline-delimited JSON or varint-delimited Protobuf, as the Centrifuge protocol
   * batches and Centrifugo sends. `separate`: one frame per push, written together; for
   * centrifuge-js before 5.8 in Node over `ws`, which dispatches frames read in one turn
   * concurrently and so reorders a batched frame against the frame after it.
   */
  readonly pushFraming: PushFraming;
  /** Commands a second one connection may send (token bucket, burst one second's worth); 0 = off. Beyond: 111. */
  readonly commandRatePerConnection: number;
  /** Commands a second all connections of one user may send on this node; 0 = off. Beyond: 111. */
  readonly commandRatePerUser: number;
  /** Commands a second all connections from one IP address may send on this node; 0 = off. Beyond: 111. */
  readonly commandRatePerIp: number;
  /** Publishes a second one connection may send; 0 = off. Beyond: 111. */
  readonly publishRatePerConnection: number;
  /** Publishes a second one user may send on this node; 0 = off. Beyond: 111. */
  readonly publishRatePerUser: number;
  /** Publishes a second one IP address may send on this node; 0 = off. Beyond: 111. */
  readonly publishRatePerIp: number;
  /** Connected sessions of one user on this node; a connect beyond it gets 3504. 0 = off. */
  readonly maxConnectionsPerUser: number;
  /** Connected sessions from one IP address on this node; a connect beyond it gets 3504. 0 = off. */
  readonly maxConnectionsPerIp: number;
}

/** See `ClientOptions.pushFraming`. */
export type PushFraming = 'batch' | 'separate';

/** Defaults of `ClientOptions`. */
export const defaultClientOptions: ClientOptions = Object.freeze({
  pingIntervalMs: 25_000,
  pongTimeoutMs: 8_000,
  maxQueueBytes: 1024 * 1024,
  maxSubscriptions: 128,
  maxCommandsPerFrame: 256,
  maxPendingCommands: 1024,
  connectTimeoutMs: 10_000,
  presenceTtlMs: 60_000,
  presenceRefreshMs: 25_000,
  maxRecoveryBuffer: 10_000,
  expiredCloseDelayMs: 25_000,
  writeDelayMs: 0,
  pushFraming: 'batch',
  commandRatePerConnection: 1000,
  commandRatePerUser: 0,
  commandRatePerIp: 0,
  publishRatePerConnection: 0,
  publishRatePerUser: 0,
  publishRatePerIp: 0,
  maxConnectionsPerUser: 0,
  maxConnectionsPerIp: 0,
});

// Options where 0 is meaningful (off / immediate); all others must be positive.
const zeroAllowed: ReadonlySet<string> = new Set([
  'writeDelayMs',
  'commandRatePerConnection',
  'commandRatePerUser',
  'commandRatePerIp',
  'publishRatePerConnection',
  'publishRatePerUser',
  'publishRatePerIp',
  'maxConnectionsPerUser',
  'maxConnectionsPerIp',
]);

/** Merges defaults, validates and freezes client options once. */
export function resolveClientOptions(partial: Partial<ClientOptions> = {}): ClientOptions {
  const merged: ClientOptions = { ...defaultClientOptions, ...partial };
  if (merged.pushFraming !== 'batch' && merged.pushFraming !== 'separate') {
    throw new TidingsError(
      TidingsErrorCode.Config,
      `client.pushFraming: expected "batch" or "separate", got ${JSON.stringify(merged.pushFraming)}`,
    );
  }
  for (const [key, value] of Object.entries(merged)) {
    if (key === 'pushFraming') continue;
    const min = zeroAllowed.has(key) ? 0 : Number.MIN_VALUE;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new TidingsError(
        TidingsErrorCode.Config,
        `client.${key}: expected a ${min === 0 ? 'non-negative' : 'positive'} number, got ${String(value)}`,
      );
    }
  }
  if (merged.pongTimeoutMs >= merged.pingIntervalMs) {
    throw new TidingsError(
      TidingsErrorCode.Config,
      `client.pongTimeoutMs: must be shorter than client.pingIntervalMs (${merged.pingIntervalMs})`,
    );
  }
  return Object.freeze(merged);
}
