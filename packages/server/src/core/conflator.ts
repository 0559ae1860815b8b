import type { Clock, TimerHandle } from '../internal/clock.js';

/** Receives what a conflator lets through: one item per key, oldest key first. */
export interface ConflatorSink<T> {
  conflatorSend(items: T[]): void;
}

/** Options of a `Conflator`. */
export interface ConflatorOptions {
  /** Shortest time between two sends (1000 / max rate); 0 = no rate limit. */
  readonly intervalMs: number;
  /**
   * False while the receiver cannot take more (slow consumer): items are held, latest per key,
   * and the conflator looks again every `retryMs`. Absent: always true.
   */
  readonly canSend?: () => boolean;
  /** How often a held batch is retried while `canSend` is false. Default 50. */
  readonly retryMs?: number;
}

/**
 * Keeps the latest item per key between sends, so a subscriber capped at N sends a second (or
 * one that cannot keep up) gets fresh values, not a backlog.
 *
 * Contract: an item offered while the window is open and nothing is held is sent at once (no
 * delay under the rate). Otherwise it replaces any held item of its key and leaves with the
 * next send, when the window opens (`intervalMs` after the previous send) and `canSend()`
 * holds. A send carries each held key once, keys in the order they were first held; so every
 * key gets at most one item per window. Memory is one held item per distinct key. `close`
 * drops what is held and cancels the timer.
 */
export class Conflator<T> {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #canSend: (() => boolean) | undefined;
  readonly #retryMs: number;
  readonly #sink: ConflatorSink<T>;
  readonly #held = new Map<string, T>();
  #nextAt = 0;
  #timer: TimerHandle | undefined;
  #closed = false;
  /** Items replaced by a newer one of their key before they could leave. */
  replaced = 0;

  constructor(clock: Clock, options: ConflatorOptions, sink: ConflatorSink<T>) {
    this.#clock = clock;
    this.#intervalMs = Math.max(0, options.intervalMs);
    this.#canSend = options.canSend;
    this.#retryMs = Math.max(1, options.retryMs ?? 50);
    this.#sink = sink;
  }

  /** Keys held for the next send. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Sends `item` now or holds it as its key's latest; returns true when it was sent now. */
  offer(key: string, item: T): boolean {
    if (this.#closed) return false;
    const now = this.#clock.now();
    if (this.#held.size === 0 && now >= this.#nextAt && (this.#canSend?.() ?? true)) {
      this.#nextAt = now + this.#intervalMs;
      this.#sink.conflatorSend([item]);
      return true;
    }
    if (this.#held.has(key)) this.replaced++;
    this.#held.set(key, item);
    this.#arm(Math.max(0, this.#nextAt - now));
    return false;
  }

  /** Drops what is held and cancels the timer. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#held.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), delayMs);
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#closed || this.#held.size === 0) return;
    const now = this.#clock.now();
    if (now < this.#nextAt) {
      this.#arm(this.#nextAt - now);
      return;
    }
    if (!(this.#canSend?.() ?? true)) {
      this.#arm(this.#retryMs);
      return;
    }
    const items = [...this.#held.values()];
    this.#held.clear();
    this.#nextAt = now + this.#intervalMs;
    this.#sink.conflatorSend(items);
  }
}
