import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { MetricsRecorder, TidingsNode } from '@tidings/server';
import type { TidingsConfig } from '../config/schema.js';
import { countApiRequests, createMetricsHandler } from './metrics-route.js';
import { createPrometheusMetrics, type PrometheusMetrics } from './prometheus.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** What `tidings serve` wires from the metrics config. */
export interface ServeMetrics {
  /** Spread into the main routes: `{ metrics }` when `/metrics` is served on the main port. */
  readonly mainRoute: { readonly metrics?: Handler };
  /** The own listener's URL (`metrics.port`), else undefined. */
  readonly url: string | undefined;
  readonly prometheus: PrometheusMetrics | undefined;
  /** Wraps the API handler so requests are counted (identity when metrics are off). */
  countApi<H extends Handler>(handler: H): Handler;
  /** Closes the own listener, if any. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the Prometheus registry over `recorder` and serves it: on the main port, or on its own
 * listener when `metrics.port` is set. `scrape` replaces what `/metrics` answers (aggregation). With metrics off (`recorder` undefined) everything is a no-op.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` when the own metrics port cannot be bound.
 */
export async function startMetrics(
  config: TidingsConfig['metrics'],
  node: TidingsNode,
  recorder: MetricsRecorder | undefined,
  scrape?: () => Promise<string>,
): Promise<ServeMetrics> {
  if (recorder === undefined) {
    return { mainRoute: {}, url: undefined, prometheus: undefined, countApi: (h) => h, close: async () => {} };
  }
  const prometheus = createPrometheusMetrics({ node, recorder, defaultMetrics: config.defaultMetrics });
  const handler = createMetricsHandler(scrape === undefined ? prometheus : { scrape }, config.token);
  const countApi = (h: Handler): Handler => countApiRequests(h, prometheus);
  if (config.port === undefined) {
    return { mainRoute: { metrics: handler }, url: undefined, prometheus, countApi, close: async () => {} };
  }
  const server = createServer((req, res) => {
    handler(req, res).then(
      (answered) => {
        if (!answered) {
          res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ error: { code: 404, message: 'not found' } }));
        }
      },
      () => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: config.port, host: config.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new TidingsError(
      TidingsErrorCode.Config,
      `metrics.port: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closed: Promise<void> | undefined;
  return {
    mainRoute: {},
    url: `http://${host}:${port}`,
    prometheus,
    countApi,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
