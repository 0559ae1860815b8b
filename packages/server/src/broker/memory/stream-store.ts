import { randomBytes } from 'node:crypto';
import type { ClientInfo } from '@tidings/protocol';
import type { HistoryQuery, HistoryReadResult, HistoryRetention, StreamPublication } from '../types.js';
import { HistoryBuffer } from './history-buffer.js';
import { IncrementalSweep } from './sweeper.js';

interface ChannelStream {
  readonly epoch: string;
  top: number;
  /** When the stream's top offset and epoch are forgotten (then the next use starts a new epoch). */
  metaExpiresAt: number;
  readonly buffer: HistoryBuffer;
}

/** What to append to a stream. */
export interface StreamAppend {
  readonly data: Uint8Array;
  readonly time: number;
  readonly history: HistoryRetention | undefined;
  readonly info: ClientInfo | undefined;
  readonly tags: Readonly<Record<string, string>> | undefined;
}

/** A short random url-safe epoch (48 bits, 8 characters). */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * The streams (top offset, epoch, retained publications) of all channels of one memory engine.
 *
 * A stream exists from its first publish or history read until its metadata expires
 * (`metaTtlMs` after the last publish, or the engine default); it is then deleted, so memory
 * never grows with channels that fell silent. The next use of that channel starts over at
 * offset 0 with a new epoch. Methods take `now` so the caller owns the clock.
 */
export class StreamStore {
  readonly #streams = new Map<string, ChannelStream>();
  readonly #defaultMetaTtlMs: number;
  readonly #sweep: IncrementalSweep<string, ChannelStream>;

  constructor(defaultMetaTtlMs: number, sweepBatch: number) {
    this.#defaultMetaTtlMs = defaultMetaTtlMs;
    this.#sweep = new IncrementalSweep(this.#streams, sweepBatch);
  }

  /** Number of channels with live stream metadata (expired ones until swept or touched). */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Assigns the next offset of `channel`, stores the publication when retention asks for it and
   * returns it with the stream's epoch. Synchronous, hence atomic.
   */
  append(channel: string, now: number, append: StreamAppend): { pub: StreamPublication; epoch: string } {
    const stream = this.#live(channel, now);
    stream.top += 1;
    const pub: StreamPublication = {
      data: append.data,
      offset: stream.top,
      time: append.time,
      ...(append.info === undefined ? {} : { info: append.info }),
      ...(append.tags === undefined ? {} : { tags: { ...append.tags } }),
    };
    const retention = append.history;
    const size = retention === undefined ? 0 : Math.floor(retention.size);
    const ttlMs = retention === undefined ? 0 : retention.ttlMs;
    // A publish that keeps no history (skip_history) still gets its offset; the history already
    // kept stays, with a hole where this publication would be.
    if (size > 0 && ttlMs > 0) stream.buffer.push(pub, now + ttlMs, size);
    const metaTtlMs =
      retention?.metaTtlMs !== undefined && retention.metaTtlMs > 0 ? retention.metaTtlMs : this.#defaultMetaTtlMs;
    stream.metaExpiresAt = now + Math.max(metaTtlMs, size > 0 ? ttlMs : 0);
    return { pub, epoch: stream.epoch };
  }

  /** Reads history per the `HistoryStore` contract; creates the stream (offset 0) if absent. */
  read(channel: string, now: number, query: HistoryQuery): HistoryReadResult {
    const stream = this.#live(channel, now);
    stream.buffer.dropExpired(now);
    const since = query.since?.offset;
    const publications =
      query.limit === 0
        ? []
        : stream.buffer.read({
            after: since !== undefined && Number.isFinite(since) ? since : 0,
            limit: Number.isFinite(query.limit) ? Math.floor(query.limit) : -1,
            reverse: query.reverse === true,
          });
    return { offset: stream.top, epoch: stream.epoch, publications };
  }

  /** Drops the retained publications of `channel`; its top offset and epoch stay. */
  removeHistory(channel: string): void {
    this.#streams.get(channel)?.buffer.clear();
  }

  /** Names of live streams starting with `prefix`, at most `limit`. */
  names(prefix: string, limit: number, now: number): string[] {
    const out: string[] = [];
    for (const [name, stream] of this.#streams) {
      if (out.length >= limit) break;
      if (name.startsWith(prefix) && stream.metaExpiresAt > now) out.push(name);
    }
    return out;
  }

  /** Drops expired publications and streams, visiting at most one sweep batch of channels. */
  sweep(now: number): void {
    this.#sweep.run((_, stream) => {
      if (stream.metaExpiresAt <= now) return false;
      stream.buffer.dropExpired(now);
      return true;
    });
  }

  clear(): void {
    this.#streams.clear();
  }

  #live(channel: string, now: number): ChannelStream {
    const existing = this.#streams.get(channel);
    if (existing !== undefined && existing.metaExpiresAt > now) return existing;
    let epoch = newEpoch();
    // A restarted stream must never reuse the epoch of the one it replaces, or old positions
    // would look resumable against new offsets.
    while (epoch === existing?.epoch) epoch = newEpoch();
    const stream: ChannelStream = {
      epoch,
      top: 0,
      metaExpiresAt: now + this.#defaultMetaTtlMs,
      buffer: new HistoryBuffer(),
    };
    this.#streams.set(channel, stream);
    return stream;
  }
}
