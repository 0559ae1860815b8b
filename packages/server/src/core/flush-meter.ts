import type { Clock } from '../internal/clock.js';
import type { MetricsSink } from '../observability/metrics.js';
import { EncodedPush } from './encoded-push.js';

/**
 * Reports what one session flush wrote to the metrics sink: live publication deliveries, bytes,
 * and each delivery's end-to-end latency (publication `time`, set by the engine when it accepted
 * the publication, to now). Called by the writer once per flush, before the batch is written,
 * so the cost is one pass over units the flush visits anyway.
 *
 * Publications replayed from history during recovery are not live deliveries and are not counted.
 */
export class FlushMeter {
  readonly #sink: MetricsSink;
  readonly #clock: Pick<Clock, 'now'>;
  // The time of the scheduler's current flush round, -1 outside one (then read per flush).
  #now = -1;

  constructor(sink: MetricsSink, clock: Pick<Clock, 'now'>) {
    this.#sink = sink;
    this.#clock = clock;
  }

  /** The scheduler starts flushing every pending writer: they share one clock reading. */
  beginRound(): void {
    this.#now = this.#clock.now();
  }

  endRound(): void {
    this.#now = -1;
  }

  record(transport: string, units: ReadonlyArray<Uint8Array | EncodedPush>, bytes: number): void {
    const sink = this.#sink;
    let deliveries = 0;
    // Publications of one flush mostly share a millisecond: report runs of equal latency at once.
    let runTime = -1;
    let run = 0;
    let now = this.#now;
    for (let i = 0; i < units.length; i++) {
      const unit = units[i];
      if (!(unit instanceof EncodedPush)) continue;
      const pub = unit.push.pub;
      if (pub === undefined) continue;
      deliveries++;
      const time = pub.time;
      if (time === undefined) continue;
      if (time === runTime) {
        run++;
        continue;
      }
      if (now === -1) now = this.#clock.now();
      if (run > 0) sink.deliveryLatency(transport, now > runTime ? now - runTime : 0, run);
      runTime = time;
      run = 1;
    }
    if (run > 0) sink.deliveryLatency(transport, now > runTime ? now - runTime : 0, run);
    sink.flushed(transport, deliveries, bytes);
  }
}
