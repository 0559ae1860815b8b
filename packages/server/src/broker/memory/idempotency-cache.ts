import type { BrokerPublishResult } from '../types.js';
import { IncrementalSweep } from './sweeper.js';

interface CachedResult {
  readonly result: BrokerPublishResult;
  readonly expiresAt: number;
}

/**
 * Results of publishes made with an idempotency key, per channel, kept until their window ends.
 * Memory stays bounded by the publish rate times the longest window: expired keys are dropped
 * when looked up and by `sweep`.
 */
export class IdempotencyCache {
  readonly #entries = new Map<string, CachedResult>();
  readonly #sweep: IncrementalSweep<string, CachedResult>;

  constructor(sweepBatch: number) {
    this.#sweep = new IncrementalSweep(this.#entries, sweepBatch);
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
      this.#entries.delete(id);
      return undefined;
    }
    return hit.result;
  }

  /** Remembers `result` for `key` in `channel` until `expiresAt`. */
  set(channel: string, key: string, result: BrokerPublishResult, expiresAt: number): void {
    const id = cacheKey(channel, key);
    // Re-inserting moves the key to the end, keeping the map roughly in expiry order.
    this.#entries.delete(id);
    this.#entries.set(id, { result, expiresAt });
  }

  /** Drops expired keys, visiting at most one sweep batch. */
  sweep(now: number): void {
    this.#sweep.run((_, entry) => entry.expiresAt > now);
  }

  clear(): void {
    this.#entries.clear();
  }
}

// A length prefix keeps (channel, key) pairs unambiguous whatever characters they contain.
function cacheKey(channel: string, key: string): string {
  return `${channel.length}:${channel}${key}`;
}
