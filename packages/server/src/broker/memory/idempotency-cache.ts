import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { BrokerPublishResult } from '../types.js';
import { IncrementalSweep } from './sweeper.js';

interface CachedResult {
  readonly result: BrokerPublishResult;
  readonly expiresAt: number;
  readonly bytes: number;
}

/** Bounds of an `IdempotencyCache`. */
export interface IdempotencyCacheLimits {
  /** Most keys held at once. Default 100,000. */
  readonly maxKeys?: number;
  /** Most estimated bytes held at once (key text, channel, result, per-entry overhead). Default 16 MiB. */
  readonly maxBytes?: number;
}

/** Default `maxKeys`. */
export const DEFAULT_IDEMPOTENCY_MAX_KEYS = 100_000;
/** Default `maxBytes`. */
export const DEFAULT_IDEMPOTENCY_MAX_BYTES = 16 * 1024 * 1024;

// Map slot, entry object, result object and string headers, measured roughly with heap snapshots.
const ENTRY_OVERHEAD_BYTES = 160;

/**
 * Results of publishes made with an idempotency key, per channel, kept until their window ends.
 * Expired keys are dropped when looked up and by `sweep`.
 *
 * Bounded whatever the publish rate: when storing a key would pass `maxKeys` or `maxBytes`, the
 * oldest keys are evicted first (the map is kept in insertion order, which is expiry order for
 * one window). An evicted key's window ends early: a repeat of it publishes again. The dedupe
 * promise therefore holds for the most recent keys that fit the bounds; `evicted` counts the
 * others so operators can raise the bounds.
 */
export class IdempotencyCache {
  readonly #entries = new Map<string, CachedResult>();
  readonly #sweep: IncrementalSweep<string, CachedResult>;
  readonly #maxKeys: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #evicted = 0;

  constructor(sweepBatch: number, limits: IdempotencyCacheLimits = {}) {
    this.#sweep = new IncrementalSweep(this.#entries, sweepBatch);
    this.#maxKeys = limits.maxKeys ?? DEFAULT_IDEMPOTENCY_MAX_KEYS;
    this.#maxBytes = limits.maxBytes ?? DEFAULT_IDEMPOTENCY_MAX_BYTES;
    for (const [name, value] of [
      ['maxKeys', this.#maxKeys],
      ['maxBytes', this.#maxBytes],
    ] as const) {
      if (!Number.isInteger(value) || value <= 0) {
        throw new TidingsError(TidingsErrorCode.Config, `idempotency.${name}: expected a positive integer`);
      }
    }
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keys evicted before their window ended, because a bound was reached, since creation. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Number of keys held, expired or not. */
  get size(): number {
    return this.#entries.size;
  }

  /** The first result published with `key` in `channel`, when its window is still open at `now`. */
  get(channel: string, key: string, now: number): BrokerPublishResult | undefined {
    const id = cacheKey(channel, key);
    const hit = this.#entries.get(id);
    if (hit === undefined) return undefined;
    if (hit.expiresAt <= now) {
      this.#remove(id, hit);
      return undefined;
    }
    return hit.result;
  }

  /** Remembers `result` for `key` in `channel` until `expiresAt`. */
  set(channel: string, key: string, result: BrokerPublishResult, expiresAt: number): void {
    const id = cacheKey(channel, key);
    const previous = this.#entries.get(id);
    // Re-inserting moves the key to the end, keeping the map roughly in expiry order.
    if (previous !== undefined) this.#remove(id, previous);
    const bytes = 2 * (id.length + result.epoch.length) + ENTRY_OVERHEAD_BYTES;
    while (this.#entries.size > 0 && (this.#entries.size >= this.#maxKeys || this.#bytes + bytes > this.#maxBytes)) {
      const oldest = this.#entries.entries().next().value as [string, CachedResult];
      this.#remove(oldest[0], oldest[1]);
      this.#evicted++;
    }
    this.#entries.set(id, { result, expiresAt, bytes });
    this.#bytes += bytes;
  }

  /** Drops expired keys, visiting at most one sweep batch. */
  sweep(now: number): void {
    this.#sweep.run((_, entry) => {
      if (entry.expiresAt > now) return true;
      this.#bytes -= entry.bytes;
      return false;
    });
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #remove(id: string, entry: CachedResult): void {
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
  }
}

// A length prefix keeps (channel, key) pairs unambiguous whatever characters they contain.
function cacheKey(channel: string, key: string): string {
  return `${channel.length}:${channel}${key}`;
}
