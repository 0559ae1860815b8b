import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { type Clock, systemClock } from '../../internal/clock.js';
import type {
  Broker,
  BrokerEventHandler,
  BrokerPublishOptions,
  BrokerPublishResult,
  HistoryQuery,
  HistoryReadResult,
  HistoryStore,
} from '../types.js';
import { IdempotencyCache, type IdempotencyCacheLimits } from './idempotency-cache.js';
import { StreamStore } from './stream-store.js';
import { DEFAULT_SWEEP_INTERVAL_MS, PeriodicTask } from './sweeper.js';

/** Stream metadata lifetime when a publish names none: 30 days, as the namespace default. */
export const DEFAULT_META_TTL_MS = 30 * 24 * 3600 * 1000;
/** Idempotency window when a publish names none: 5 minutes. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 5 * 60 * 1000;
const SWEEP_BATCH = 1000;

/** Options of a `MemoryBroker`. */
export interface MemoryBrokerOptions {
  /** Time source for publication times, expiry and the sweep timer. Default `systemClock`. */
  readonly clock?: Clock;
  /** Metadata lifetime for publishes whose retention gives no positive `metaTtlMs`. */
  readonly metaTtlMs?: number;
  /** Idempotency window for publishes that give no `idempotencyWindowMs`. */
  readonly idempotencyWindowMs?: number;
  /** Period of the background sweep. */
  readonly sweepIntervalMs?: number;
  /** Bounds of the idempotency key store (see `IdempotencyCache`): oldest keys are evicted first. */
  readonly idempotencyLimits?: IdempotencyCacheLimits;
}

/**
 * A single-process `Broker` and `HistoryStore`: the engine of a node that runs alone.
 *
 * - Offsets are contiguous per channel from 1 within an epoch. A channel's epoch is created with
 *   its stream (first publish or history read) and replaced when the stream metadata expires
 *   (`metaTtlMs` after the last publish); the stream then restarts at offset 0. A history read of
 *   a channel with no stream creates it, so the epoch it reports is the one the first publish uses.
 * - Publish is one synchronous step: assign the offset, store, deliver. The handler is called
 *   synchronously inside `publish`, before its promise settles, and only for channels passed to
 *   `subscribe`; a single thread therefore delivers every channel in offset order. An exception
 *   thrown by the handler does not fail the (already stored) publish; it is rethrown on a
 *   microtask so it surfaces as an uncaught error.
 * - History keeps at most `history.size` publications per channel, each for `history.ttlMs`
 *   (never longer than a newer one, so the retained range stays contiguous). With no `history`
 *   option or `size: 0`, offsets still advance but nothing is stored.
 * - `removeHistory` drops the stored publications but keeps the top offset and epoch, so
 *   subscribers' positions stay valid and the next publish continues the sequence (Centrifugo's
 *   semantics).
 * - The same `idempotencyKey` in the same channel within the window returns the first result
 *   with `suppressed: true`, storing and delivering nothing.
 * - Data is kept by reference: callers must not mutate a `Uint8Array` after publishing it.
 * - After `close()`, every method rejects with `TIDINGS_ERR_STATE` except `unsubscribe` (a no-op)
 *   and `close` (idempotent). Stored state is dropped on close.
 */
export class MemoryBroker implements Broker, HistoryStore {
  readonly #clock: Clock;
  readonly #idempotencyWindowMs: number;
  readonly #streams: StreamStore;
  readonly #idempotency: IdempotencyCache;
  readonly #subscribed = new Set<string>();
  readonly #prefixes = new Set<string>();
  readonly #sweeper: PeriodicTask;
  #handler: BrokerEventHandler | undefined;
  #closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    this.#idempotency = new IdempotencyCache(SWEEP_BATCH, options.idempotencyLimits);
    this.#streams = new StreamStore(options.metaTtlMs ?? DEFAULT_META_TTL_MS, SWEEP_BATCH);
    this.#sweeper = new PeriodicTask(this.#clock, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, () => {
      const now = this.#clock.now();
      this.#streams.sweep(now);
      this.#idempotency.sweep(now);
    });
  }

  /** Channels with live stream metadata; bounded because expired streams are deleted. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Idempotency keys currently remembered. */
  get idempotencyKeyCount(): number {
    return this.#idempotency.size;
  }

  /** Estimated bytes and early evictions of the idempotency key store. */
  get idempotencyStats(): { readonly bytes: number; readonly evicted: number } {
    return { bytes: this.#idempotency.bytes, evicted: this.#idempotency.evicted };
  }

  /** Sets the handler that receives deliveries. Rejects with `TIDINGS_ERR_STATE` if already started or closed. */
  async start(handler: BrokerEventHandler): Promise<void> {
    this.#assertOpen('start');
    if (this.#handler !== undefined) {
      throw new TidingsError(TidingsErrorCode.State, 'MemoryBroker.start: already started');
    }
    this.#handler = handler;
  }

  /** Delivers publications, joins and leaves of these channels to the handler from now on (idempotent). */
  async subscribe(channels: readonly string[]): Promise<void> {
    this.#assertOpen('subscribe');
    for (const ch of channels) this.#subscribed.add(ch);
  }

  /** Stops delivery for these channels (idempotent; a no-op after close). */
  async unsubscribe(channels: readonly string[]): Promise<void> {
    for (const ch of channels) this.#subscribed.delete(ch);
  }

  /** Delivers publications of channels starting with these prefixes through `onPrefixPublication` (idempotent). */
  async subscribePrefixes(prefixes: readonly string[]): Promise<void> {
    this.#assertOpen('subscribePrefixes');
    for (const prefix of prefixes) this.#prefixes.add(prefix);
  }

  /** Stops prefix delivery for these prefixes (idempotent; a no-op after close). */
  async unsubscribePrefixes(prefixes: readonly string[]): Promise<void> {
    for (const prefix of prefixes) this.#prefixes.delete(prefix);
  }

  /** Assigns the next offset, stores per `options.history` and delivers, in one synchronous step. */
  async publish(channel: string, data: Uint8Array, options: BrokerPublishOptions = {}): Promise<BrokerPublishResult> {
    this.#assertOpen('publish');
    const now = this.#clock.now();
    const key = options.idempotencyKey;
    if (key !== undefined) {
      const first = this.#idempotency.get(channel, key, now);
      if (first !== undefined) return { offset: first.offset, epoch: first.epoch, suppressed: true };
    }
    const { pub, epoch } = this.#streams.append(channel, now, {
      data,
      time: now,
      history: options.history,
      info: options.info,
      tags: options.tags,
    });
    const result: BrokerPublishResult = { offset: pub.offset, epoch };
    if (key !== undefined) {
      const windowMs = options.idempotencyWindowMs ?? this.#idempotencyWindowMs;
      if (windowMs > 0) this.#idempotency.set(channel, key, result, now + windowMs);
    }
    const handler = this.#handler;
    if (handler !== undefined && this.#subscribed.has(channel)) {
      guard(() => handler.onPublication(channel, pub, epoch));
    }
    if (handler !== undefined && this.#prefixes.size > 0 && matchesPrefix(this.#prefixes, channel)) {
      guard(() => handler.onPrefixPublication?.(channel, pub, epoch));
    }
    return result;
  }

  /** Delivers a join to the handler when `channel` is subscribed on this node. */
  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    this.#assertOpen('publishJoin');
    const handler = this.#handler;
    if (handler !== undefined && this.#subscribed.has(channel)) guard(() => handler.onJoin(channel, info));
  }

  /** Delivers a leave to the handler when `channel` is subscribed on this node. */
  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    this.#assertOpen('publishLeave');
    const handler = this.#handler;
    if (handler !== undefined && this.#subscribed.has(channel)) guard(() => handler.onLeave(channel, info));
  }

  /** Reads history per the `HistoryStore` contract (expired publications are never returned). */
  async history(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    this.#assertOpen('history');
    return this.#streams.read(channel, this.#clock.now(), query);
  }

  /** Drops the stored publications of `channel`, keeping its top offset and epoch. */
  /** Channels with live stream metadata starting with `prefix`, at most `limit`. */
  async channels(prefix: string, limit: number): Promise<string[]> {
    this.#assertOpen('channels');
    return this.#streams.names(prefix, limit, this.#clock.now());
  }

  async removeHistory(channel: string): Promise<void> {
    this.#assertOpen('removeHistory');
    this.#streams.removeHistory(channel);
  }

  /** Stops the sweep timer, forgets the handler and drops all state. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweeper.stop();
    this.#handler = undefined;
    this.#subscribed.clear();
    this.#prefixes.clear();
    this.#streams.clear();
    this.#idempotency.clear();
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `MemoryBroker.${method}: broker is closed`);
  }
}

// The publication is already stored and acknowledged; a failing handler must not turn that into
// a rejected publish, nor be swallowed.
function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function matchesPrefix(prefixes: ReadonlySet<string>, channel: string): boolean {
  for (const prefix of prefixes) if (channel.startsWith(prefix)) return true;
  return false;
}
