import type { MetricsRecorder, TidingsNode } from '@tidings/server';

/** Latency quantiles of one transport over one sample interval; null when nothing was delivered. */
export interface LatencyQuantiles {
  readonly p50: number | null;
  readonly p99: number | null;
}

/** What the console charts: one point per sample interval, for this node. */
export interface AdminSample {
  /** Time of the sample, ms since the Unix epoch. */
  readonly t: number;
  /** Connected clients by transport. */
  readonly connections: Readonly<Record<string, number>>;
  readonly subscriptions: number;
  /** Publications this node accepted per second (API and clients). */
  readonly publicationsPerSec: number;
  /** Live publication pushes written per second, by transport. */
  readonly deliveriesPerSec: Readonly<Record<string, number>>;
  /** Delivery latency (publication accepted → written to the socket) in ms, by transport. */
  readonly latencyMs: Readonly<Record<string, LatencyQuantiles>>;
}

/**
 * The `q` quantile of a histogram given per-bucket counts (`counts[i]` = observations in
 * `(bounds[i-1], bounds[i]]`, the last entry above the last bound), interpolated linearly
 * inside the bucket as Prometheus' `histogram_quantile` does. Null when there are none.
 */
export function histogramQuantile(bounds: readonly number[], counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    if (below + n >= rank && n > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? 0;
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = bounds[i] as number;
      return lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return bounds[bounds.length - 1] ?? 0;
}

interface Previous {
  readonly t: number;
  readonly publications: number;
  readonly deliveries: Map<string, number>;
  readonly latency: Map<string, Float64Array>;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Samples this node's figures (from the `MetricsRecorder` the core fills, and the hub's session
 * counts) every `intervalMs` and keeps the last `keep` samples, so the console shows a few
 * minutes of history as soon as it opens. Rates and quantiles are per interval.
 */
export class AdminSampler {
  readonly #node: Pick<TidingsNode, 'sessionStats'>;
  readonly #recorder: Pick<MetricsRecorder, 'publications' | 'transports'>;
  readonly #keep: number;
  readonly #intervalMs: number;
  readonly #samples: AdminSample[] = [];
  #previous: Previous | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    node: Pick<TidingsNode, 'sessionStats'>,
    recorder: Pick<MetricsRecorder, 'publications' | 'transports'>,
    options: { readonly intervalMs?: number; readonly keep?: number } = {},
  ) {
    this.#node = node;
    this.#recorder = recorder;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#keep = options.keep ?? 300;
  }

  /** Starts sampling on a timer (unref'd: it never keeps the process alive). */
  start(now: () => number = Date.now): void {
    if (this.#timer !== undefined) return;
    this.sample(now());
    this.#timer = setInterval(() => this.sample(now()), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample at `now`; the first one only sets the baseline of the rates. */
  sample(now: number): AdminSample | undefined {
    const connections: Record<string, number> = {};
    let subscriptions = 0;
    for (const s of this.#node.sessionStats()) {
      connections[s.transport] = (connections[s.transport] ?? 0) + s.connections;
      subscriptions += s.subscriptions;
    }
    let publications = 0;
    for (const n of this.#recorder.publications.values()) publications += n;
    const deliveries = new Map<string, number>();
    const latency = new Map<string, Float64Array>();
    for (const [transport, figures] of this.#recorder.transports) {
      deliveries.set(transport, figures.deliveries);
      latency.set(transport, Float64Array.from(figures.latency.counts));
    }
    const previous = this.#previous;
    this.#previous = { t: now, publications, deliveries, latency };
    if (previous === undefined || now <= previous.t) return undefined;

    const seconds = (now - previous.t) / 1000;
    const deliveriesPerSec: Record<string, number> = {};
    const latencyMs: Record<string, LatencyQuantiles> = {};
    for (const [transport, figures] of this.#recorder.transports) {
      deliveriesPerSec[transport] = round(
        ((deliveries.get(transport) ?? 0) - (previous.deliveries.get(transport) ?? 0)) / seconds,
      );
      const now = latency.get(transport) as Float64Array;
      const before = previous.latency.get(transport);
      const delta = before === undefined ? now : now.map((n, i) => n - (before[i] ?? 0));
      const p50 = histogramQuantile(figures.latency.bounds, delta, 0.5);
      const p99 = histogramQuantile(figures.latency.bounds, delta, 0.99);
      latencyMs[transport] = { p50: p50 === null ? null : round(p50), p99: p99 === null ? null : round(p99) };
    }
    const sample: AdminSample = {
      t: now,
      connections,
      subscriptions,
      publicationsPerSec: round((publications - previous.publications) / seconds),
      deliveriesPerSec,
      latencyMs,
    };
    this.#samples.push(sample);
    if (this.#samples.length > this.#keep) this.#samples.shift();
    return sample;
  }

  /** The kept samples taken after `since` (ms since the epoch), oldest first. */
  samples(since = 0): AdminSample[] {
    return this.#samples.filter((s) => s.t > since);
  }
}
