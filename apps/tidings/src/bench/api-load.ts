// The `publish-api` scenario's publisher: autocannon drives the HTTP publish API (issue 5), one
// publication per `POST /api/publish`, or `batch` of them per `POST /api/batch`, with
// `connections` keep-alive connections each sending its next request when the last one answered.
// Every publication still carries its send time, so the subscribers' delivery latency is measured
// as in the other scenarios; the request latency (what an API caller waits) is measured apart.
import { maxTrackedLatencyUs, newLatencyHistogram, nowMicros } from './messages.js';
import { type PublisherStats, publicationData } from './publisher.js';
import type { LatencySummary } from './types.js';

/** How the API load runs. */
export interface ApiLoadOptions {
  readonly apiUrl: string;
  readonly apiKey?: string;
  readonly channels: number;
  readonly channelPrefix: string;
  readonly payloadBytes: number;
  /** Publications per request: 1 = `POST /api/publish`, more = `POST /api/batch` (in order). */
  readonly batch: number;
  /** autocannon connections (each with one request in flight). */
  readonly connections: number;
  /** Publications per second over all connections; 0 = as fast as the API answers. */
  readonly rate: number;
  /** Batches with `"parallel": true`: the server runs their commands concurrently. */
  readonly batchParallel?: boolean;
}

/** What an API load run adds to the publisher's counts. */
export interface ApiLoadStats extends PublisherStats {
  /** Requests answered 200 without an error reply. */
  readonly requests: number;
  /** Request latency: sent to fully answered, µs (autocannon's own histogram has 1 ms steps). */
  readonly requestLatencyUs: LatencySummary;
}

/** The per-connection state autocannon keeps for us: which channels the request in flight holds. */
interface ConnectionContext {
  channels?: number[];
}

// autocannon's types are not shipped with the package; this is the part of its API used here
// (README: "API" → autocannon(opts[, cb]), instance.stop(), requests[].setupRequest/onResponse).
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
interface AutocannonInstance extends PromiseLike<{ non2xx: number; errors: number; timeouts: number }> {
  stop(): void;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  requests: ReadonlyArray<{
    setupRequest: (request: AutocannonRequest, context: ConnectionContext) => AutocannonRequest;
    onResponse: (status: number, body: string, context: ConnectionContext) => void;
  }>;
}) => AutocannonInstance;

/**
 * Runs autocannon against the publish API until `stop()`. Channels are used round-robin across
 * publications. A request fails when it answers anything but 200 or an `error` in its body; its
 * publications then leave the channels' expected deliveries. A batch with one failed command
 * counts as failed whole, so its other publications are expected by nobody: keep batches valid.
 */
export class ApiLoad {
  readonly #options: ApiLoadOptions;
  readonly #perChannel: number[];
  readonly #latency = newLatencyHistogram();
  #next = 0;
  #requests = 0;
  #failed = 0;
  #instance: AutocannonInstance | undefined;

  constructor(options: ApiLoadOptions) {
    this.#options = options;
    this.#perChannel = new Array<number>(options.channels).fill(0);
  }

  async start(): Promise<void> {
    const { apiUrl, apiKey, batch, connections, rate } = this.#options;
    const autocannon = await loadAutocannon();
    const path = batch > 1 ? '/api/batch' : '/api/publish';
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(apiKey === undefined ? {} : { 'x-api-key': apiKey }),
    };
    const sentAt = new WeakMap<ConnectionContext, number>();
    this.#instance = autocannon({
      url: new URL(path, apiUrl).href,
      connections,
      // Stopped by `stop()`; the duration is only a bound in case nobody does.
      duration: 24 * 3600,
      ...(rate > 0 ? { overallRate: Math.max(1, Math.round(rate / batch)) } : {}),
      requests: [
        {
          setupRequest: (request, context) => {
            const { body, channels } = this.#body();
            context.channels = channels;
            // Counted when sent, taken back if it fails: autocannon drops the requests in flight
            // when it stops, and the server publishes those whether or not we read the answer.
            for (const channel of channels) this.#perChannel[channel]!++;
            sentAt.set(context, performance.now());
            return { ...request, method: 'POST', path, headers, body };
          },
          onResponse: (status, body, context) => {
            const started = sentAt.get(context);
            if (started !== undefined) {
              const us = Math.round((performance.now() - started) * 1000);
              this.#latency.recordValue(Math.min(maxTrackedLatencyUs, Math.max(1, us)));
            }
            if (status !== 200 || body.includes('"error"')) {
              this.#failed++;
              for (const channel of context.channels ?? []) this.#perChannel[channel]!--;
              return;
            }
            this.#requests++;
          },
        },
      ],
    });
  }

  /** The next request's body and the channel index of each of its publications. */
  #body(): { body: string; channels: number[] } {
    const { batch, channels: count, channelPrefix, payloadBytes } = this.#options;
    const channels: number[] = [];
    const publishes: string[] = [];
    for (let i = 0; i < batch; i++) {
      const channel = this.#next++ % count;
      channels.push(channel);
      publishes.push(
        `{"channel":${JSON.stringify(`${channelPrefix}${channel}`)},"data":${publicationData(nowMicros(), payloadBytes)}}`,
      );
    }
    const commands = publishes.map((p) => `{"publish":${p}}`).join(',');
    const parallel = this.#options.batchParallel === true ? ',"parallel":true' : '';
    const body = batch > 1 ? `{"commands":[${commands}]${parallel}}` : publishes[0]!;
    return { body, channels };
  }

  /** Stops autocannon, waits for what it had in flight, and returns the counts. */
  async stop(): Promise<ApiLoadStats> {
    const instance = this.#instance;
    let transportErrors = 0;
    if (instance !== undefined) {
      instance.stop();
      const result = await instance;
      transportErrors = result.errors + result.timeouts;
    }
    const latency = this.#latency;
    const at = (p: number) => (latency.totalCount === 0 ? 0 : latency.getValueAtPercentile(p));
    const requestLatencyUs: LatencySummary = {
      count: latency.totalCount,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: latency.totalCount === 0 ? 0 : latency.maxValue,
      mean: latency.totalCount === 0 ? 0 : Math.round(latency.mean),
    };
    latency.destroy();
    const published = this.#perChannel.reduce((a, b) => a + b, 0);
    return {
      published,
      errors: this.#failed + transportErrors,
      perChannel: [...this.#perChannel],
      requests: this.#requests,
      requestLatencyUs,
    };
  }
}

/** autocannon, loaded only when a publish-api run needs it (`tidings serve` never does). */
async function loadAutocannon(): Promise<Autocannon> {
  try {
    const module = await import('autocannon');
    return module.default as Autocannon;
  } catch (error) {
    throw new Error(
      `tidings bench --scenario publish-api needs the autocannon package (npm install autocannon@9): ${(error as Error).message}`,
    );
  }
}
