import type { CodecName } from '@tidings/protocol';
import type { TransportName } from './clients/types.js';

/**
 * The load shape of a run:
 * - `fanout`: every subscriber on one channel, publishing for `duration` s;
 * - `many-channels`: subscribers spread over `channels` channels (a few each), publishing;
 * - `connect-storm`: open every socket as fast as `connectConcurrency` allows, no publishing;
 *   the figures are the connect rate and the connect-latency histogram;
 * - `idle`: connect every socket, then hold them `duration` s without publishing; the figure is
 *   the server's RSS per connection;
 * - `publish-api`: the subscribers as in `fanout` (or over `channels`), while autocannon drives
 *   the HTTP publish API with `publishConcurrency` connections, `batch` publications per request;
 *   the figures are publishes/s and the request latency, beside the usual delivery figures.
 */
export type BenchScenario = 'fanout' | 'many-channels' | 'connect-storm' | 'idle' | 'publish-api';

/** What `tidings bench` runs: one scenario against one server. */
export interface BenchOptions {
  /** The load shape (default `fanout`); it decides whether and how long the run publishes. */
  readonly scenario?: BenchScenario;
  /** Subscriber endpoint of `transport`, e.g. `ws://127.0.0.1:8000/connection/websocket`. */
  readonly url: string;
  /**
   * More subscriber endpoints (other nodes of a cluster): worker i holds its subscribers on the
   * i-th of `[url, ...alsoUrls]`, round-robin, so `workers` ≥ endpoints spreads them over all.
   * Publishes still go to `apiUrl`.
   */
  readonly alsoUrls?: readonly string[];
  /**
   * Client transport of every subscriber (clients/); it also picks the publish request shape
   * (`publishStyleOf`). `centrifuge-ws` when omitted.
   */
  readonly transport?: TransportName;
  /** Connection token sent in every connect command; omitted when undefined (anonymous). */
  readonly token?: string;
  /** Server API key for `POST <apiUrl>/api/publish`. */
  readonly apiKey?: string;
  /** Base URL of the server API, e.g. `http://127.0.0.1:8000`. */
  readonly apiUrl: string;
  readonly subscribers: number;
  /** Channels `<channelPrefix><i>`, i in [0, channels); subscriber g joins channel g mod channels. */
  readonly channels: number;
  readonly channelPrefix: string;
  /** Publications per second over all channels; 0 publishes as fast as the API answers. */
  readonly rate: number;
  /** Seconds of publishing, or of holding for `idle` (connecting happens before and is not counted). */
  readonly duration: number;
  /**
   * Seconds of the same publishing before the measured window, drained and not counted (default
   * 0): a fresh server's and the load generator's first seconds run unoptimized code.
   */
  readonly warmupSeconds?: number;
  readonly codec: CodecName;
  /** Worker processes holding the subscribers. */
  readonly workers: number;
  /** Size of each publication's JSON data (the timestamp plus padding). */
  readonly payloadBytes: number;
  /** Publish requests in flight at once when saturating (`rate` 0); `publish-api`: autocannon's connections. */
  readonly publishConcurrency: number;
  /** `publish-api` only: publications per request (1 = `POST /api/publish`, more = `POST /api/batch`); default 1. */
  readonly batch?: number;
  /** `publish-api` only: send batches with `"parallel": true` (commands run concurrently). */
  readonly batchParallel?: boolean;
  /** Sockets opening at once per worker. */
  readonly connectConcurrency: number;
  /** Sockets per source address before the worker moves to the next 127.0.0.x. */
  readonly socketsPerAddress: number;
  /** A process whose CPU time and RSS are read from /proc while publishing. */
  readonly serverPid?: number;
  /** Progress output: 'tty' rewrites one line, 'lines' prints one every 5 s, 'off' prints nothing. */
  readonly progress: 'tty' | 'lines' | 'off';
}

/** Latency percentiles in microseconds, from the merged HDR histogram of every worker. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** Server CPU and memory over the publishing window, read from /proc/<pid>. */
export interface ServerUsage {
  readonly pid: number;
  /** User plus system CPU, percent of one core. */
  readonly cpuPercent: number;
  readonly userCpuPercent: number;
  /** User CPU µs per delivery, publishing start to the end of the drain (0 when nothing was delivered). */
  readonly userCpuUsPerDelivery: number;
  /**
   * System (kernel) CPU µs per delivery over the same span: on loopback a socket write also runs
   * the receiver's TCP path in the sender's context, so this is mostly the cost of one write.
   */
  readonly systemCpuUsPerDelivery: number;
  /** `connect-storm` only: user CPU µs per connection subscribed. */
  readonly userCpuUsPerConnect?: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssPeakMiB: number;
}

/** One second of the run (for charts). */
export interface TimelinePoint {
  /**
   * Seconds since publishing started (`fanout`, `many-channels`: connecting is not recorded), or
   * since the run started (`connect-storm`, `idle`: connecting is recorded).
   */
  readonly t: number;
  readonly connected: number;
  readonly deliveriesPerSec: number;
  /** p99 of that second, µs; absent when nothing arrived. */
  readonly p99?: number;
  /** The server's RSS at that second, MiB; absent without a server pid. */
  readonly serverRssMiB?: number;
}

/**
 * Server memory of the `idle` scenario, read from /proc/<pid>/status (VmRSS). Per connection =
 * (RSS at that instant − RSS before the first socket opened) / connections held, in KiB.
 */
export interface IdleMemory {
  readonly rssBeforeMiB: number;
  /** Once every socket subscribed. */
  readonly rssConnectedMiB: number;
  /** After holding them `holdSeconds`, the figure to quote (connect-time garbage had time to go). */
  readonly rssEndMiB: number;
  readonly perConnectionConnectedKiB: number;
  readonly perConnectionEndKiB: number;
  readonly holdSeconds: number;
}

/** Errors by kind; `total` is their sum. */
export interface BenchErrors {
  /** Sockets that failed to open, or connect/subscribe replies with an error. */
  readonly connect: number;
  /** Sockets closed by the server or the network before the end. */
  readonly disconnects: number;
  /** Publish requests that failed or answered an error. */
  readonly publish: number;
  /** Frames the client could not decode. */
  readonly protocol: number;
  /** Subscriptions the server ended on its own: unsubscribe/disconnect push, or an error close. */
  readonly dropped: number;
  readonly total: number;
}

/** The `publish-api` scenario's own figures. */
export interface PublishApiFigures {
  readonly path: '/api/publish' | '/api/batch';
  readonly batch: number;
  readonly parallel: boolean;
  readonly connections: number;
  /** Requests answered 200 without an error. */
  readonly requests: number;
  readonly requestsPerSec: number;
  /** Request latency, sent to answered (µs). */
  readonly requestLatencyUs: LatencySummary;
}

/** Everything a run measured; written as the `--out` JSON file. */
export interface BenchResult {
  readonly options: Omit<BenchOptions, 'token' | 'apiKey' | 'progress'>;
  readonly startedAt: string;
  readonly connected: number;
  /** Connections per second from the first socket opened to the last subscribe reply. */
  readonly connectPerSec: number;
  readonly connectSeconds: number;
  /** Per-socket connect latency: socket created (TCP connect starts) to its subscribe reply. */
  readonly connectLatencyUs?: LatencySummary;
  readonly published: number;
  readonly publishesPerSec: number;
  readonly publishSeconds: number;
  /**
   * CPU of the load generator (this process and its workers) while publishing, percent of one
   * core. Near 100 × (cores it may use) means the load side, not the server, set the figures.
   */
  readonly loadCpuPercent: number;
  /** Sum over publications of the subscribers of its channel. */
  readonly expectedDeliveries: number;
  readonly deliveries: number;
  /**
   * Deliveries divided by `deliverySeconds`: from the start of publishing until every worker
   * stopped, so deliveries that arrive late (drain, a backlogged load generator) count in the
   * time they took and never inflate the rate.
   */
  readonly deliveriesPerSec: number;
  /** Seconds from the start of publishing until the workers stopped (≥ `publishSeconds`). */
  readonly deliverySeconds: number;
  readonly latencyUs: LatencySummary;
  /** `publish-api` only. */
  readonly publishApi?: PublishApiFigures;
  readonly errors: BenchErrors;
  /**
   * Over the window the scenario measures: publishing (`fanout`, `many-channels`), connecting
   * (`connect-storm`) or holding (`idle`).
   */
  readonly server?: ServerUsage;
  /** Present for the `idle` scenario with a server pid. */
  readonly idle?: IdleMemory;
  readonly timeline: readonly TimelinePoint[];
}
