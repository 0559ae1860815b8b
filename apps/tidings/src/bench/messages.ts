import type { CodecName } from '@tidings/protocol';
import * as hdr from 'hdr-histogram-js';
import type { TransportName } from './clients/types.js';

/** What one worker process holds; sent by the parent as its first IPC message. */
export interface WorkerPlan {
  readonly type: 'plan';
  readonly index: number;
  readonly transport: TransportName;
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
  /** Subscriptions the server ended on its own (see `DeliverySink.dropped`). */
  readonly dropped: number;
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
  /**
   * Per-socket connect latency, µs from creating the socket (TCP connect starts) to its subscribe
   * reply, of the sockets that subscribed: a compressed base64 HDR histogram, '' when none.
   */
  readonly connectHistogram?: string;
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
const newline = 0x0a;
const pushPrefix = [0x7b, quote, 0x70, 0x75, 0x73, 0x68, quote]; // {"push"
const pubKey = [quote, 0x70, 0x75, 0x62, quote, 0x3a]; // "pub":
/** splitJsonPushes' answer when every line was a push: shared, no allocation per frame. */
const noRest = new Uint8Array(0);

/**
 * Fast path of a JSON frame on the load side: calls `onPublication(sendTime)` for every line that
 * is a publication push (send time -1 when the data holds none) and returns the other lines, which
 * need a real decode (replies, pings), as one frame; an empty array (shared, never written) when
 * every line was a push. Avoids a JSON parse per delivery, which would make the load generator,
 * not the server, the limit.
 */
export function splitJsonPushes(frame: Uint8Array, onPublication: (sentAtUs: number) => void): Uint8Array {
  let rest: number[] | undefined;
  let start = 0;
  while (start < frame.length) {
    let end = frame.indexOf(newline, start);
    if (end < 0) end = frame.length;
    let push = end - start > pushPrefix.length;
    for (let k = 0; push && k < pushPrefix.length; k++) push = frame[start + k] === pushPrefix[k];
    const pub = push ? findBytes(frame, pubKey, start + pushPrefix.length, end) : -1;
    if (pub >= 0) onPublication(findSendTime(frame, pub, end));
    else {
      rest ??= [];
      rest.push(start, end);
    }
    start = end + 1;
  }
  if (rest === undefined) return noRest;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < rest.length; i += 2) parts.push(frame.subarray(rest[i], rest[i + 1]));
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, -1));
  let at = 0;
  for (const part of parts) {
    if (at > 0) joined[at++] = newline;
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** Index of the first occurrence of `needle` in frame[from, to), or -1. */
function findBytes(frame: Uint8Array, needle: readonly number[], from: number, to: number): number {
  outer: for (let i = from; i <= to - needle.length; i++) {
    for (let k = 0; k < needle.length; k++) if (frame[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The send time of the first `{"t":<digits>` in frame[from, to), or -1: the embedded timestamp of
 * a publication inside a larger JSON envelope (an SSE or NDJSON event), found without a parse.
 */
export function findSendTime(frame: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to - 5; i++) {
    if (frame[i] === 0x7b && frame[i + 1] === quote && frame[i + 2] === 0x74 && frame[i + 3] === quote) {
      return readSendTime(frame.subarray(i, Math.min(to, i + 40)));
    }
  }
  return -1;
}

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
