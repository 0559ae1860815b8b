/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: unique symbol } | ReturnType<typeof setTimeout>;

/**
 * Time and timers, injected so tests can drive them. `now()` is wall-clock milliseconds
 * (publication `time`, token expiry); timers are relative.
 */
export interface Clock {
  now(): number;
  /**
   * Milliseconds on a clock that never jumps (shared timer queues order deadlines on it);
   * defaults to `now()` when a clock leaves it out.
   */
  monotonic?(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock. Timers are unref'd so they never keep the process alive. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A manual clock for tests: time moves only with `advance`. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, FakeTimer>();

  readonly #earlyMs: number;

  /**
   * `earlyMs` fires each timer up to that many milliseconds before `now()` reaches its deadline,
   * as Node's timers can against `Date.now()` (they count from the event loop's cached,
   * millisecond-rounded time); a timer still fires at least a millisecond after it was set.
   */
  constructor(start = 1_700_000_000_000, options: { earlyMs?: number } = {}) {
    this.#now = start;
    this.#earlyMs = options.earlyMs ?? 0;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.#seq;
    const delay = Math.max(0, ms);
    this.#timers.set(seq, { at: this.#now + Math.max(Math.min(delay, 1), delay - this.#earlyMs), seq, fn });
    return seq as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** Moves time forward, firing due timers in order (timers set while firing run if due). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
          next = t;
      }
      if (next === undefined) break;
      this.#timers.delete(next.seq);
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }
}
