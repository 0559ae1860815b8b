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

  constructor(sink: MetricsSink, clock: Pick<Clock, 'now'>) {
    this.#sink = sink;
    this.#clock = clock;
  }

  record(transport: string, units: ReadonlyArray<Uint8Array | EncodedPush>, bytes: number): void {
    const sink = this.#sink;
    let deliveries = 0;
    let now = -1;
    for (let i = 0; i < units.length; i++) {
      const unit = units[i];
      if (!(unit instanceof EncodedPush)) continue;
      const pub = unit.push.pub;
      if (pub === undefined) continue;
      deliveries++;
      if (now === -1) now = this.#clock.now();
      const time = pub.time;
      if (time !== undefined) sink.deliveryLatency(transport, now > time ? now - time : 0);
    }
    sink.flushed(transport, deliveries, bytes);
  }
}
