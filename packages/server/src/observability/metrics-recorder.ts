import type {
  EngineOperation,
  LimitName,
  LimitScope,
  MetricsSink,
  PublicationSource,
  peerClosedCode,
  RecoveryResult,
} from './metrics.js';

/** Upper bounds (ms) of the latency histograms; the last bucket is +Inf. */
export const latencyBucketsMs: readonly number[] = Object.freeze([
  0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
]);

/** A fixed-bucket histogram held in plain numbers: `counts[i]` is non-cumulative. */
export class BucketHistogram {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  count = 0;
  sum = 0;

  // Bucket of every whole value 0..last bound: latencies are mostly whole milliseconds, so the
  // hot path is one table read instead of a search.
  readonly #table: Uint8Array;

  constructor(bounds: readonly number[] = latencyBucketsMs) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
    const last = bounds.length === 0 ? 0 : Math.ceil(bounds[bounds.length - 1]!);
    this.#table = new Uint8Array(last + 1);
    for (let v = 0; v <= last; v++) this.#table[v] = this.#search(v);
  }

  /** Records `value` `times` times (default once). */
  observe(value: number, times = 1): void {
    const i =
      Number.isInteger(value) && value >= 0 && value < this.#table.length ? this.#table[value]! : this.#search(value);
    this.counts[i]! += times;
    this.count += times;
    this.sum += value * times;
  }

  #search(value: number): number {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    return i;
  }
}

/** Per-transport delivery figures. */
export interface TransportFigures {
  deliveries: number;
  bytes: number;
  readonly latency: BucketHistogram;
}

/** Per-operation engine figures. */
export interface EngineFigures {
  errors: number;
  readonly latency: BucketHistogram;
}

/** What a `MetricsRecorder` has counted since it was made (monotonic counters). */
export interface MetricsSnapshot {
  readonly publications: ReadonlyMap<PublicationSource, number>;
  readonly transports: ReadonlyMap<string, TransportFigures>;
  /** Key: `${transport}\u0000${code}`; see `splitDisconnectKey`. */
  readonly disconnects: ReadonlyMap<string, number>;
  readonly recoveries: ReadonlyMap<RecoveryResult, number>;
  /** Key: `${limit}\u0000${scope}`; see `splitLimitKey`. */
  readonly limits: ReadonlyMap<string, number>;
  readonly engine: ReadonlyMap<EngineOperation, EngineFigures>;
}

/** Splits a `MetricsSnapshot.disconnects` key into its transport and code labels. */
export function splitDisconnectKey(key: string): { transport: string; code: string } {
  const at = key.indexOf('\u0000');
  return { transport: key.slice(0, at), code: key.slice(at + 1) };
}

/** Splits a `MetricsSnapshot.limits` key into its limit and scope labels. */
export function splitLimitKey(key: string): { limit: string; scope: string } {
  const at = key.indexOf('\u0000');
  return { limit: key.slice(0, at), scope: key.slice(at + 1) };
}

/**
 * A `MetricsSink` that keeps plain numbers, for an exporter (prom-client in `tidings serve`) to
 * read on scrape. Hot-path calls are a map lookup keyed by a constant transport name and a few
 * additions; nothing allocates after the first call per label value.
 */
export class MetricsRecorder implements MetricsSink, MetricsSnapshot {
  readonly publications = new Map<PublicationSource, number>();
  readonly transports = new Map<string, TransportFigures>();
  readonly disconnects = new Map<string, number>();
  readonly recoveries = new Map<RecoveryResult, number>();
  readonly limits = new Map<string, number>();
  readonly engine = new Map<EngineOperation, EngineFigures>();
  // One-entry cache: a flush burst is usually all one transport.
  #lastName = '';
  #last: TransportFigures | undefined;

  published(source: PublicationSource): void {
    this.publications.set(source, (this.publications.get(source) ?? 0) + 1);
  }

  flushed(transport: string, deliveries: number, bytes: number): void {
    const t = this.#transport(transport);
    t.deliveries += deliveries;
    t.bytes += bytes;
  }

  deliveryLatency(transport: string, ms: number, count: number): void {
    this.#transport(transport).latency.observe(ms, count);
  }

  disconnected(transport: string, code: number | typeof peerClosedCode): void {
    const key = `${transport}\u0000${code}`;
    this.disconnects.set(key, (this.disconnects.get(key) ?? 0) + 1);
  }

  recovery(result: RecoveryResult): void {
    this.recoveries.set(result, (this.recoveries.get(result) ?? 0) + 1);
  }

  limited(limit: LimitName, scope: LimitScope): void {
    const key = `${limit}\u0000${scope}`;
    this.limits.set(key, (this.limits.get(key) ?? 0) + 1);
  }

  engineCall(op: EngineOperation, ms: number, ok: boolean): void {
    let e = this.engine.get(op);
    if (e === undefined) {
      e = { errors: 0, latency: new BucketHistogram() };
      this.engine.set(op, e);
    }
    e.latency.observe(ms);
    if (!ok) e.errors++;
  }

  #transport(name: string): TransportFigures {
    if (name === this.#lastName && this.#last !== undefined) return this.#last;
    let t = this.transports.get(name);
    if (t === undefined) {
      t = { deliveries: 0, bytes: 0, latency: new BucketHistogram() };
      this.transports.set(name, t);
    }
    this.#lastName = name;
    this.#last = t;
    return t;
  }
}
