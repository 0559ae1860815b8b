import type { MetricsRecorder, TidingsNode } from '@tidings/server';
import { splitDisconnectKey, splitLimitKey } from '@tidings/server';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { SnapshotHistogram } from './snapshot-histogram.js';

/** Options of `createPrometheusMetrics`. */
export interface PrometheusMetricsOptions {
  readonly node: TidingsNode;
  /** The sink the node was created with. */
  readonly recorder: MetricsRecorder;
  /** Include prom-client's process and Node.js metrics (event-loop lag, GC, heap). Default true. */
  readonly defaultMetrics?: boolean;
}

/** A node's Prometheus registry plus the API request counter the HTTP routes feed. */
export interface PrometheusMetrics {
  readonly registry: Registry;
  /** Count one server API request; `method` must be a known method name or "other". */
  apiRequest(method: string, status: number): void;
  /** The exposition text (`text/plain; version=0.0.4`). */
  scrape(): Promise<string>;
  /** The registry as prom-client JSON, for `AggregatorRegistry.aggregate` across workers. */
  json(): Promise<object[]>;
}

/**
 * The prom-client side of Tidings metrics: gauges read from `node.sessionStats()` at scrape,
 * counters and histograms read from the `MetricsRecorder` the core fills on its hot path.
 * Names follow `tidings_<area>_<name>_<unit>`; labels are transports, codecs, sources, wire
 * codes, outcomes and operation names only.
 */
export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const { node, recorder } = options;
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const sessionGauge = (
    name: string,
    help: string,
    pick: (s: ReturnType<TidingsNode['sessionStats']>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['transport', 'codec'],
      registers,
      collect() {
        this.reset();
        for (const s of node.sessionStats()) this.set({ transport: s.transport, codec: s.codec }, pick(s));
      },
    });
  sessionGauge('tidings_client_connections', 'Connected clients by transport and codec.', (s) => s.connections);
  sessionGauge('tidings_client_subscriptions', 'Channel subscriptions by transport and codec.', (s) => s.subscriptions);
  sessionGauge(
    'tidings_client_queue_bytes',
    'Outbound bytes waiting in session writers and transport buffers.',
    (s) => s.queuedBytes,
  );

  new Gauge({
    name: 'tidings_engine_ready',
    help: '1 while the node runs and its engine is reachable, else 0.',
    registers,
    aggregator: 'min',
    collect() {
      this.set(node.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tidings_node_info',
    help: 'Always 1; labels carry the node name and version.',
    labelNames: ['node', 'version'],
    registers,
    collect() {
      this.reset();
      this.set({ node: node.name, version: node.version }, 1);
    },
  });

  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (c: Counter<L>) => void,
  ) =>
    new Counter<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(this);
      },
    });
  counter('tidings_node_publications_total', 'Publications accepted by the engine, by source.', ['source'], (c) => {
    for (const [source, n] of recorder.publications) c.inc({ source }, n);
  });
  counter(
    'tidings_transport_deliveries_total',
    'Live publication pushes written, by transport.',
    ['transport'],
    (c) => {
      for (const [transport, t] of recorder.transports) c.inc({ transport }, t.deliveries);
    },
  );
  counter('tidings_transport_sent_bytes_total', 'Bytes written to clients, by transport.', ['transport'], (c) => {
    for (const [transport, t] of recorder.transports) c.inc({ transport }, t.bytes);
  });
  counter(
    'tidings_client_disconnects_total',
    'Sessions ended, by transport and disconnect code ("peer": the client went away).',
    ['transport', 'code'],
    (c) => {
      for (const [key, n] of recorder.disconnects) c.inc(splitDisconnectKey(key), n);
    },
  );
  counter('tidings_client_recoveries_total', 'Subscribe-with-recover outcomes.', ['result'], (c) => {
    for (const [result, n] of recorder.recoveries) c.inc({ result }, n);
  });
  counter(
    'tidings_client_limit_refusals_total',
    'Commands, publishes and connects refused by a limit (111 or 3504), by limit and by whose budget ran out.',
    ['limit', 'scope'],
    (c) => {
      for (const [key, n] of recorder.limits) c.inc(splitLimitKey(key), n);
    },
  );
  counter('tidings_engine_errors_total', 'Failed engine round trips, by operation.', ['op'], (c) => {
    for (const [op, e] of recorder.engine) c.inc({ op }, e.errors);
  });
  const api = new Counter({
    name: 'tidings_api_requests_total',
    help: 'Server API requests, by method and HTTP status.',
    labelNames: ['method', 'status'],
    registers,
  });

  registry.registerMetric(
    new SnapshotHistogram(
      'tidings_transport_delivery_latency_seconds',
      'Publication accepted by the engine → written to the client socket, by transport.',
      'transport',
      () => [...recorder.transports].map(([name, t]) => [name, t.latency] as const),
    ).asMetric(),
  );
  registry.registerMetric(
    new SnapshotHistogram(
      'tidings_engine_request_duration_seconds',
      'Engine round-trip time, by operation (failed ones included).',
      'op',
      () => [...recorder.engine].map(([op, e]) => [op, e.latency] as const),
    ).asMetric(),
  );

  return {
    registry,
    apiRequest(method, status) {
      api.inc({ method, status: String(status) });
    },
    scrape: () => registry.metrics(),
    json: () => registry.getMetricsAsJSON(),
  };
}
