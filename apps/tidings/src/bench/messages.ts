import type { CodecName } from '@tidings/protocol';
import * as hdr from 'hdr-histogram-js';

/** What one worker process holds; sent by the parent as its first IPC message. */
export interface WorkerPlan {
  readonly type: 'plan';
  readonly index: number;
  readonly url: string;
  readonly token?: string;
  readonly codec: CodecName;
  /** Global subscriber indices [first, first + count). */
  readonly first: number;
  readonly count: number;
  readonly channels: number;
  readonly channelPrefix: string;
  readonly connectConcurrency: number;
  readonly socketsPerAddress: number;
  /** Workers in the run, to spread source addresses. */
  readonly workers: number;
}

/** Parent to worker: close every socket and send a last `tick` and `done`. */
export interface WorkerStop {
  readonly type: 'stop';
}

export type ToWorker = WorkerPlan | WorkerStop;

/** Counters a worker reports; cumulative since it started. */
export interface WorkerCounters {
  readonly connected: number;
  readonly deliveries: number;
  readonly connectErrors: number;
  readonly disconnects: number;
  readonly protocolErrors: number;
}

/**
 * Worker to parent, once a second and once after `stop`: counters, plus the latencies recorded
 * since the previous tick as a compressed base64 HDR histogram (µs), empty string when none.
 */
export interface WorkerTick extends WorkerCounters {
  readonly type: 'tick';
  readonly histogram: string;
}

/** Worker to parent: every socket was attempted and answered (subscribed or failed). */
export interface WorkerReady extends WorkerCounters {
  readonly type: 'ready';
  /** Epoch ms of the first socket opened and of the last subscribe reply. */
  readonly firstOpenAt: number;
  readonly lastReadyAt: number;
}

/** Worker to parent: sockets are closed; the last tick was sent before this. */
export interface WorkerDone {
  readonly type: 'done';
}

export type FromWorker = WorkerTick | WorkerReady | WorkerDone;

/** The epoch time in microseconds with sub-millisecond resolution, comparable across processes. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Highest latency the histograms track, µs (60 s); larger values are clamped to it. */
export const maxTrackedLatencyUs = 60_000_000;

/** A fresh histogram of latencies in µs, 3 significant digits. */
export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: maxTrackedLatencyUs,
    numberOfSignificantValueDigits: 3,
  });
}

const quote = 0x22;
const zero = 0x30;

/**
 * Reads the send timestamp from a publication's data (`{"t":<µs>,...}` as the publisher builds
 * it). Returns -1 when the data holds none. Scans bytes, so no JSON parse per delivery.
 */
export function readSendTime(data: Uint8Array): number {
  const limit = Math.min(data.length - 4, 32);
  for (let i = 0; i < limit; i++) {
    if (data[i] === quote && data[i + 1] === 0x74 && data[i + 2] === quote && data[i + 3] === 0x3a) {
      let j = i + 4;
      while (data[j] === 0x20) j++;
      let value = 0;
      let digits = 0;
      for (let c = data[j]; c !== undefined && c >= zero && c <= zero + 9; c = data[++j]) {
        value = value * 10 + (c - zero);
        digits++;
      }
      return digits === 0 ? -1 : value;
    }
  }
  return -1;
}
