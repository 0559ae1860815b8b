import type { Clock, TimerHandle } from '../../internal/clock.js';

/** Default period of the memory engine's background sweeps of expired entries. */
export const DEFAULT_SWEEP_INTERVAL_MS = 1000;

/**
 * Runs `task` every `intervalMs` on `clock` until `stop()`. Timers come from the clock, so with
 * `systemClock` they are unref'd and never keep the process alive.
 */
export class PeriodicTask {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #task: () => void;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(clock: Clock, intervalMs: number, task: () => void) {
    this.#clock = clock;
    this.#intervalMs = Math.max(1, intervalMs);
    this.#task = task;
    this.#arm();
  }

  /** Cancels the pending run; idempotent. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      try {
        this.#task();
      } finally {
        if (!this.#stopped) this.#arm();
      }
    }, this.#intervalMs);
  }
}

/**
 * Visits a map a bounded batch at a time, resuming where the last batch stopped, so a sweep over
 * many channels never blocks the event loop for long. Keys added during a pass may wait until the
 * next pass.
 */
export class IncrementalSweep<K, V> {
  readonly #map: Map<K, V>;
  readonly #batch: number;
  #iter: Iterator<[K, V]> | undefined;

  constructor(map: Map<K, V>, batch: number) {
    this.#map = map;
    this.#batch = Math.max(1, batch);
  }

  /** Visits up to `batch` entries; an entry is deleted when `keep` returns false. */
  run(keep: (key: K, value: V) => boolean): void {
    for (let i = 0; i < this.#batch; i++) {
      this.#iter ??= this.#map.entries();
      const next = this.#iter.next();
      if (next.done === true) {
        this.#iter = undefined;
        return;
      }
      const [key, value] = next.value;
      // Deleting the current entry is safe: Map iterators are live and skip removed entries.
      if (!keep(key, value)) this.#map.delete(key);
    }
  }
}
