import type { Clock } from './clock.js';

/**
 * One token bucket: holds up to `burst` tokens and refills `ratePerSec` tokens a second, lazily
 * on each `take` (no timer). `take` spends one token when there is one.
 */
export class TokenBucket {
  readonly #ratePerSec: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSec: number, burst: number, now: number) {
    this.#ratePerSec = ratePerSec;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Spends one token at `now`; false (and nothing spent) when the bucket is empty. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket refilled to `burst` by `now`: forgetting it then loses nothing. */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#burst;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#ratePerSec);
      this.#at = now;
    }
  }
}

/**
 * Token buckets by key (a user id, an IP address), bounded to `maxKeys`: when a new key would
 * pass the bound, buckets that refilled completely are forgotten (they would allow the same as a
 * fresh one); if every bucket is still draining, the oldest is forgotten, which can only let its
 * key through sooner, never block anyone wrongly.
 */
export class KeyedTokenBuckets {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #clock: Clock;
  readonly #ratePerSec: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  constructor(clock: Clock, ratePerSec: number, burst: number, maxKeys = 100_000) {
    this.#clock = clock;
    this.#ratePerSec = ratePerSec;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Spends one token of `key`'s bucket; false when it is empty. */
  take(key: string): boolean {
    const now = this.#clock.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#prune(now);
      bucket = new TokenBucket(this.#ratePerSec, this.#burst, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key);
    if (this.#buckets.size >= this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
  }
}
