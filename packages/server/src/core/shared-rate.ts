import type { Clock } from '../internal/clock.js';
import type { Logger } from '../observability/logger.js';

/**
 * Cluster-wide counters in fixed time windows, for rate limits that several nodes share (the
 * Redis engine provides one). `add` is called by each node a few times a second with what it
 * counted since its last call; it resolves with the cluster-wide total of each of those keys in
 * that window, this node's counts included. Windows expire on their own.
 */
export interface SharedRateCounter {
  add(
    scope: string,
    windowId: number,
    counts: ReadonlyMap<string, number>,
    windowMs: number,
  ): Promise<Map<string, number>>;
}

/** Options of `SharedWindowLimiter`. */
export interface SharedWindowLimiterOptions {
  /** Names the limit in the shared store (e.g. `publish:user`); nodes must agree on it. */
  readonly scope: string;
  /** Allowed per key and window, cluster-wide. */
  readonly limit: number;
  readonly windowMs?: number;
  /** How often counts are exchanged with the store. Default 100 ms. */
  readonly syncMs?: number;
  readonly counter: SharedRateCounter;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Keys tracked at once; beyond it new keys are refused until the window turns. Default 100,000. */
  readonly maxKeys?: number;
}

/**
 * A rate limit per key shared by every node through a `SharedRateCounter`: at most `limit`
 * per key in each fixed window of `windowMs`, cluster-wide. `allow` is synchronous (the hot
 * path never waits for the store): it refuses a key once this node alone counted `limit` in the
 * window, or once the last exchange showed the cluster at `limit`. So the cluster may overshoot
 * by what the other nodes allow between two exchanges (`syncMs`), never more; when the store
 * is unreachable each node keeps enforcing `limit` alone. Memory: one entry per key seen in the
 * current window, at most `maxKeys`.
 */
export class SharedWindowLimiter {
  readonly #o: Required<Omit<SharedWindowLimiterOptions, 'logger'>> & { logger: Logger | undefined };
  #window = -1;
  /** Counted by this node in the current window, and what it has not reported yet. */
  readonly #local = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  /** Cluster-wide totals at the last exchange. */
  readonly #cluster = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #syncing = false;

  constructor(options: SharedWindowLimiterOptions) {
    this.#o = { windowMs: 1000, syncMs: 100, maxKeys: 100_000, ...options, logger: options.logger };
  }

  /** Counts one event for `key`; false (and not counted) when the key is over its limit. */
  allow(key: string): boolean {
    this.#turn();
    const mine = this.#local.get(key) ?? 0;
    if (mine === 0 && this.#local.size >= this.#o.maxKeys) return false;
    if (mine >= this.#o.limit) return false;
    // What the cluster counted at the last exchange plus what this node counted since then.
    const cluster = this.#cluster.get(key) ?? 0;
    if (cluster + (this.#pending.get(key) ?? 0) >= this.#o.limit) return false;
    this.#local.set(key, mine + 1);
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    this.#schedule();
    return true;
  }

  /** Milliseconds until the current window ends (for Retry-After). */
  retryAfterMs(): number {
    const now = this.#o.clock.now();
    return this.#o.windowMs - (now % this.#o.windowMs);
  }

  /** Sends pending counts now and waits for the answer (tests, shutdown). */
  async sync(): Promise<void> {
    if (this.#syncing || this.#pending.size === 0) return;
    this.#syncing = true;
    const window = this.#window;
    const batch = new Map(this.#pending);
    this.#pending.clear();
    try {
      const totals = await this.#o.counter.add(this.#o.scope, window, batch, this.#o.windowMs);
      if (window !== this.#window) return;
      for (const [key, total] of totals) this.#cluster.set(key, total);
    } catch (error) {
      // The store is away: this node keeps its own counts (allow() still caps each key at
      // `limit` locally) and retries with the next events.
      if (window === this.#window) {
        for (const [key, n] of batch) this.#pending.set(key, (this.#pending.get(key) ?? 0) + n);
      }
      this.#o.logger?.debug({ err: error, scope: this.#o.scope }, 'shared rate counter unavailable');
    } finally {
      this.#syncing = false;
    }
  }

  /** Stops the exchange timer. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #turn(): void {
    const window = Math.floor(this.#o.clock.now() / this.#o.windowMs);
    if (window === this.#window) return;
    this.#window = window;
    this.#local.clear();
    this.#pending.clear();
    this.#cluster.clear();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#pending.size === 0 && this.#o.clock.now() - this.#window * this.#o.windowMs > this.#o.windowMs) {
        this.close();
        return;
      }
      void this.sync();
    }, this.#o.syncMs);
    this.#timer.unref?.();
  }
}
