import type { Clock } from '../internal/clock.js';
import type { FlushMeter } from './flush-meter.js';

/** Something with pending output to write once per flush. */
export interface Flushable {
  flush(): void;
}

/** Where a session writer asks to be flushed. */
export interface FlushQueue {
  /** Queue `item` for the next flush; the caller guarantees it is queued at most once per flush. */
  schedule(item: Flushable): void;
  /** Set when metrics are on: writers report each flush to it. */
  readonly meter?: FlushMeter | undefined;
}

/** Options of `FlushScheduler`. */
export interface FlushSchedulerOptions {
  /**
   * 0 (default): flush in the next event-loop turn (`setImmediate`). Above 0: flush everything
   * pending on one shared timer this many ms after the first item was queued, so sessions
   * coalesce more pushes per write at the cost of that much latency.
   */
  readonly delayMs?: number;
  /** Timer source for the delayed mode (tests inject a FakeClock). */
  readonly clock?: Pick<Clock, 'setTimeout'>;
  /** Where writers report their flushes; absent when metrics are off. */
  readonly meter?: FlushMeter | undefined;
}

/**
 * Batches writes for all sessions with one `setImmediate` (or one timer with a write delay),
 * instead of a timer or closure per session: a fan-out to N subscribers queues N units and then
 * performs one write per subscriber at the flush. Items are flushed in the order they were
 * queued; items queued during a flush go to the next one.
 */
export class FlushScheduler implements FlushQueue {
  #pending: Flushable[] = [];
  #spare: Flushable[] = [];
  #scheduled = false;
  readonly #delayMs: number;
  readonly #clock: Pick<Clock, 'setTimeout'> | undefined;
  readonly #run = (): void => this.#flushAll();
  readonly meter: FlushMeter | undefined;

  constructor(options: FlushSchedulerOptions = {}) {
    this.#delayMs = options.delayMs ?? 0;
    this.#clock = options.clock;
    this.meter = options.meter;
  }

  schedule(item: Flushable): void {
    this.#pending.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.#delayMs > 0) {
        if (this.#clock !== undefined) this.#clock.setTimeout(this.#run, this.#delayMs);
        else setTimeout(this.#run, this.#delayMs);
      } else {
        setImmediate(this.#run);
      }
    }
  }

  #flushAll(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    // Swap arrays so items scheduled while flushing go to the next flush without allocating.
    this.#pending = this.#spare;
    this.meter?.beginRound();
    for (let i = 0; i < batch.length; i++) batch[i]!.flush();
    this.meter?.endRound();
    batch.length = 0;
    this.#spare = batch;
  }
}
