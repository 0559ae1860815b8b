import type { CodecName } from '@tidings/protocol';
import type { TransportName } from './clients/types.js';

/** What `tidings bench` runs: one fan-out scenario against one server. */
export interface BenchOptions {
  /** Subscriber endpoint of `transport`, e.g. `ws://127.0.0.1:8000/connection/websocket`. */
  readonly url: string;
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
  /** Seconds of publishing (connecting happens before and is not counted). */
  readonly duration: number;
  readonly codec: CodecName;
  /** Worker processes holding the subscribers. */
  readonly workers: number;
  /** Size of each publication's JSON data (the timestamp plus padding). */
  readonly payloadBytes: number;
  /** Publish requests in flight at once when saturating (`rate` 0). */
  readonly publishConcurrency: number;
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
  /** User CPU microseconds per delivery (0 when nothing was delivered). */
  readonly userCpuUsPerDelivery: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssPeakMiB: number;
}

/** One second of the run (for charts). */
export interface TimelinePoint {
  /** Seconds since publishing started (negative while connecting). */
  readonly t: number;
  readonly connected: number;
  readonly deliveriesPerSec: number;
  /** p99 of that second, µs; absent when nothing arrived. */
  readonly p99?: number;
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
  readonly total: number;
}

/** Everything a run measured; written as the `--out` JSON file. */
export interface BenchResult {
  readonly options: Omit<BenchOptions, 'token' | 'apiKey' | 'progress'>;
  readonly startedAt: string;
  readonly connected: number;
  /** Connections per second from the first socket opened to the last subscribe reply. */
  readonly connectPerSec: number;
  readonly connectSeconds: number;
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
  /** Deliveries divided by the publishing window (deliveries arriving in the drain are counted). */
  readonly deliveriesPerSec: number;
  readonly latencyUs: LatencySummary;
  readonly errors: BenchErrors;
  readonly server?: ServerUsage;
  readonly timeline: readonly TimelinePoint[];
}
