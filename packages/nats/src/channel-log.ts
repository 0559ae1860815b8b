import { randomBytes } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  decodeStreamPublication,
  type HistoryQuery,
  type HistoryReadResult,
  type StreamPublication,
} from '@tidings/server';
import { type NatsHandles, toUnavailable, unavailable } from './connection.js';
import type { NatsNames } from './names.js';
import { readRecord, recordHeaders, type StreamRecord } from './records.js';
import { scanSubject } from './subject-scan.js';

/** The last message of a channel's subject: the channel's top position. */
export interface ChannelTop {
  /** Stream sequence of the last message on the subject; 0 when the subject is empty. */
  readonly seq: number;
  readonly offset: number;
  readonly epoch: string;
  readonly record: StreamRecord | undefined;
}

/** One message to append with compare-and-set on the subject's last sequence. */
export interface AppendRequest {
  readonly body: Uint8Array;
  /** The record to store, given the current top (offset, epoch and kind are decided here). */
  readonly record: (top: ChannelTop) => StreamRecord;
  readonly msgId?: string;
}

/** How long an append keeps retrying after lost races before it fails as unavailable. */
const RACE_BUDGET_MS = 5000;

/**
 * The JetStream side of one channel: reads the top, appends with optimistic concurrency
 * (`Nats-Expected-Last-Subject-Sequence`), scans the subject for history. Stateless apart
 * from a cache of the last top this process wrote, which only saves a read: a stale cache
 * costs one rejected append and a re-read, never a wrong offset.
 */
export class ChannelLog {
  readonly #names: NatsNames;
  readonly #tops = new Map<string, ChannelTop>();

  constructor(names: NatsNames) {
    this.#names = names;
  }

  /** Reads the top of `channel` from the stream (uncached); `seq: 0` with a fresh epoch when empty. */
  async readTop(h: NatsHandles, channel: string): Promise<ChannelTop> {
    const msg = await h.jsm.direct
      .getMessage(this.#names.stream, { last_by_subj: this.#names.history(channel) })
      .catch((err: unknown) => {
        throw toUnavailable(err, 'reading the channel top');
      });
    const record = msg === null ? undefined : readRecord(msg.header);
    if (msg === null || record === undefined) return { seq: msg?.seq ?? 0, offset: 0, epoch: newEpoch(), record };
    return { seq: msg.seq, offset: record.offset, epoch: record.epoch, record };
  }

  /**
   * Appends one message after the current top, atomically: the server rejects it if another
   * message reached the subject since the top was read, and then the top is read again. A
   * duplicate `msgId` inside the stream's window resolves with `duplicateOf` (the stream
   * sequence of the first one) and appends nothing.
   */
  async append(
    h: NatsHandles,
    channel: string,
    request: AppendRequest,
  ): Promise<{ top: ChannelTop; duplicateOf?: number }> {
    const subject = this.#names.history(channel);
    const deadline = Date.now() + RACE_BUDGET_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      // Jittered backoff after a lost race, so publishers on other nodes cannot starve this one.
      if (attempt > 0) await sleep(Math.random() * Math.min(50, 2 ** attempt));
      const top = this.#tops.get(channel) ?? (await this.readTop(h, channel));
      const record = request.record(top);
      try {
        const ack = await h.js.publish(subject, request.body, {
          headers: recordHeaders(record),
          expect: { lastSubjectSequence: top.seq },
          ...(request.msgId === undefined ? {} : { msgID: request.msgId }),
        });
        if (ack.duplicate) {
          this.#tops.delete(channel);
          return { top, duplicateOf: ack.seq };
        }
        const next = { seq: ack.seq, offset: record.offset, epoch: record.epoch, record };
        this.#remember(channel, next);
        return { top: next };
      } catch (err) {
        this.#tops.delete(channel);
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) continue;
        throw toUnavailable(err, 'publishing to JetStream');
      }
    }
    throw unavailable(`publish to ${channel}: lost the offset race for ${RACE_BUDGET_MS} ms`);
  }

  /** The top of `channel`, writing an offset-0 marker first when the subject is empty (stable epoch). */
  async ensureTop(h: NatsHandles, channel: string): Promise<ChannelTop> {
    const top = await this.readTop(h, channel);
    if (top.record !== undefined) return top;
    const { top: made } = await this.append(h, channel, {
      body: new Uint8Array(0),
      record: (t) => ({ kind: 'top', offset: t.offset, epoch: t.epoch, size: 0, ttlMs: 0 }),
    });
    return made;
  }

  /** The record stored at stream sequence `seq` if it belongs to `channel`. */
  async recordAt(h: NatsHandles, channel: string, seq: number): Promise<StreamRecord | undefined> {
    const msg = await h.jsm.direct.getMessage(this.#names.stream, { seq }).catch((err: unknown) => {
      throw toUnavailable(err, 'reading a stored message');
    });
    if (msg === null || msg.subject !== this.#names.history(channel)) return undefined;
    return readRecord(msg.header);
  }

  /**
   * History per the `HistoryStore` contract. Scans the channel's subject up to the top read
   * first (the subject holds little more than the retained publications, since publishes
   * purge beyond their size), then applies the retention recorded in the headers:
   * the newest `size` of the top publication, nothing at or below a `removeHistory` marker, and
   * each publication's TTL from its stream timestamp.
   */
  async history(h: NatsHandles, channel: string, query: HistoryQuery, now: number): Promise<HistoryReadResult> {
    const top = await this.ensureTop(h, channel);
    const result = { offset: top.offset, epoch: top.epoch };
    if (query.limit === 0) return { ...result, publications: [] };
    const last = top.record;
    let floor = last === undefined ? top.offset : last.kind === 'top' ? last.offset : 0;
    const kept: Array<{ pub: StreamPublication; size: number }> = [];
    const subject = this.#names.history(channel);
    for (const msg of await scanSubject(h, this.#names.stream, subject, top.seq)) {
      const record = readRecord(msg.header);
      if (record === undefined || record.epoch !== top.epoch) continue;
      if (record.kind === 'top') {
        // Everything up to a removeHistory marker is gone, even if a purge has not run yet.
        floor = Math.max(floor, record.offset);
        continue;
      }
      // size 0: a live-only publication (skip_history); it leaves a hole, not a reset.
      if (record.size <= 0 || (record.ttlMs > 0 && msg.time + record.ttlMs <= now)) continue;
      kept.push({
        pub: decodeStreamPublication(msg.data, record.offset, msg.time),
        size: record.size,
      });
    }
    const live = kept.filter((k) => k.pub.offset > floor);
    // Retention is the newest stored publication's size, counted in stored publications.
    const retain = live.at(-1)?.size ?? 0;
    const since = query.since?.offset;
    const after = since !== undefined && Number.isFinite(since) ? Math.floor(since) : -1;
    let publications = live
      .slice(Math.max(0, live.length - retain))
      .map((k) => k.pub)
      .filter((p) => p.offset > after);
    if (query.reverse === true) publications.reverse();
    if (query.limit > 0) publications = publications.slice(0, query.limit);
    return { ...result, publications };
  }

  /** Forgets the cached top of `channel` (after a purge or on unknown outcomes). */
  forget(channel: string): void {
    this.#tops.delete(channel);
  }

  #remember(channel: string, top: ChannelTop): void {
    // Bounded: the cache only saves a read, so dropping the oldest entries is harmless.
    if (this.#tops.size >= 10_000) {
      const oldest = this.#tops.keys().next().value;
      if (oldest !== undefined) this.#tops.delete(oldest);
    }
    this.#tops.delete(channel);
    this.#tops.set(channel, top);
  }
}

/** A short random url-safe epoch (48 bits, 8 characters), as the other engines'. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
