/** Options of a `RestartBackoff`. */
export interface RestartBackoffOptions {
  /** Delay before the first restart after a crash. Default 100 ms. */
  readonly initialMs?: number;
  /** Largest delay; each consecutive crash doubles the previous one up to this. Default 10 s. */
  readonly maxMs?: number;
  /** A worker that ran at least this long before dying starts the sequence again. Default 30 s. */
  readonly resetAfterMs?: number;
}

/**
 * Bounded exponential backoff of worker restarts, per worker slot: a worker that keeps crashing
 * right after start is restarted ever more slowly (never slower than `maxMs`), while one that
 * crashes after running a while is restarted at once again.
 */
export class RestartBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #resetAfterMs: number;
  readonly #crashes = new Map<number, number>();

  constructor(options: RestartBackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 100;
    this.#maxMs = options.maxMs ?? 10_000;
    this.#resetAfterMs = options.resetAfterMs ?? 30_000;
  }

  /** The delay before restarting `slot`, whose worker died after running `uptimeMs`; counts the crash. */
  next(slot: number, uptimeMs: number): number {
    const previous = uptimeMs >= this.#resetAfterMs ? 0 : (this.#crashes.get(slot) ?? 0);
    this.#crashes.set(slot, previous + 1);
    return Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(previous, 30));
  }
}
