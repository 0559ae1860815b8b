import type { BucketHistogram } from '@tidings/server';
import type { Metric } from 'prom-client';

/** One exported sample. */
interface Sample {
  readonly metricName: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The shape prom-client's registry reads from a metric (`registry.getMetricsAsString/JSON`). */
interface HistogramMetricObject {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: Sample[];
  }>;
}

/**
 * A Prometheus histogram read at scrape time from `BucketHistogram`s the core fills with plain
 * additions (prom-client's own `observe` hashes the labels on every call, too dear per delivery).
 * Values are exported in seconds; buckets are cumulative as the exposition format wants.
 */
export class SnapshotHistogram implements HistogramMetricObject {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly name: string;
  readonly help: string;
  readonly #label: string;
  readonly #source: () => Iterable<readonly [string, BucketHistogram]>;

  /**
   * @param label the one label name (e.g. "transport"); `source` yields its values with their histograms.
   */
  constructor(name: string, help: string, label: string, source: () => Iterable<readonly [string, BucketHistogram]>) {
    this.name = name;
    this.help = help;
    this.#label = label;
    this.#source = source;
  }

  /** Registers this histogram on a prom-client registry (which duck-types metrics by `get()`). */
  asMetric(): Metric<string> {
    return this as unknown as Metric<string>;
  }

  async get() {
    const values: Sample[] = [];
    for (const [labelValue, h] of this.#source()) {
      let cumulative = 0;
      for (let i = 0; i < h.counts.length; i++) {
        cumulative += h.counts[i]!;
        const bound = h.bounds[i];
        const le = bound === undefined ? '+Inf' : String(bound / 1000);
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le, [this.#label]: labelValue },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { [this.#label]: labelValue }, value: h.sum / 1000 });
      values.push({ metricName: `${this.name}_count`, labels: { [this.#label]: labelValue }, value: h.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
