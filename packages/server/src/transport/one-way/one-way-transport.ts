import type { ServerResponse } from 'node:http';
import {
  type Command,
  type Disconnect,
  encodeCursor,
  type Push,
  type Reply,
  type StreamPosition,
  type SubscribeResult,
  shouldReconnect,
} from '@tidings/protocol';
import type { EncodedPush, SharedFrameBuilder } from '../../core/encoded-push.js';
import type { Clock, TimerHandle } from '../../internal/clock.js';
import type { Transport } from '../types.js';
import { type Chunk, type EventFramer, joinAsHttpChunk, joinChunks } from './event-framer.js';
import { OneChannelCursor } from './one-channel-cursor.js';
import { decodeOneWayRecords, type OneWayRecord, oneWayCodec } from './one-way-codec.js';
import { publicationEvent, sharedChunkBuilder, sharedEventBuilder } from './publication-event.js';
import { createStreamOutput, type StreamEncoding, type StreamOutput } from './stream-output.js';

/** What the transport drives: the session's command entry and its peer-gone signal. */
export interface OneWaySessionPort {
  handleCommands(commands: readonly Command[]): void;
  transportClosed(): void;
}

/** Rejection of a pending `request` when the session closed (`disconnect`) or the peer left (undefined). */
export class OneWayClosedError extends Error {
  readonly disconnect: Disconnect | undefined;
  constructor(disconnect: Disconnect | undefined) {
    super(disconnect === undefined ? 'peer went away' : `closed: ${disconnect.code} ${disconnect.reason}`);
    this.name = 'OneWayClosedError';
    this.disconnect = disconnect;
  }
}

/** Options of a `OneWayTransport`. */
export interface OneWayTransportOptions {
  readonly framer: EventFramer;
  /** Positions the client resumes from (its cursor), by channel. */
  readonly resume: Readonly<Record<string, StreamPosition>>;
  readonly heartbeatIntervalMs: number;
  /** How long the final event may take to reach a client before the socket is destroyed. */
  readonly closeGraceMs: number;
  readonly clock: Clock;
  /** Compress the stream with this coding (negotiated from `Accept-Encoding`); none when absent. */
  readonly encoding?: StreamEncoding;
}

interface ChannelState {
  /** The channel name as a JSON string, built once. */
  readonly json: string;
  position: { epoch: string; offset: number };
  /** The cursor encoder while this is the stream's only channel, made on first use per epoch. */
  cursor?: OneChannelCursor;
}

interface Waiter {
  readonly channel: string | undefined;
  resolve(reply: Reply): void;
  reject(error: OneWayClosedError): void;
}

/**
 * A session's view of one HTTP response that streams events (SSE, NDJSON).
 *
 * It starts in *handshake*: the edge sends the session commands with `request` and waits for the
 * replies; events produced meanwhile (recovered publications, discontinuities, live publications)
 * are held, and `bufferedBytes` counts them. `open` writes the headers, the `connected` event and
 * what was held, then writes as the session writes. Every event that moves the stream carries the
 * cursor of all channels' positions after it. A resumed channel whose subscribe result is not
 * `recovered: true` yields a `discontinuity` event: never a silent skip.
 */
export class OneWayTransport implements Transport {
  readonly name: string;
  readonly unidirectional = true;
  readonly codec = oneWayCodec;
  readonly #res: ServerResponse;
  readonly #options: OneWayTransportOptions;
  readonly #channels = new Map<string, ChannelState>();
  readonly #start = new Map<string, StreamPosition>();
  readonly #waiters = new Map<number, Waiter>();
  #state: 'handshake' | 'open' | 'closed' = 'handshake';
  #held: Chunk[] = [];
  #heldBytes = 0;
  #session: OneWaySessionPort | undefined;
  #client = '';
  #nextId = 1;
  #heartbeat: TimerHandle | undefined;
  /** Where events go once open: the response, or a compressor in front of it. */
  #out: StreamOutput | undefined;
  readonly #builder: SharedFrameBuilder;
  readonly #chunkBuilder: SharedFrameBuilder;

  constructor(res: ServerResponse, options: OneWayTransportOptions) {
    this.#res = res;
    this.#options = options;
    this.name = options.framer.name;
    this.#builder = sharedEventBuilder(options.framer);
    this.#chunkBuilder = sharedChunkBuilder(options.framer);
    // Until a channel's subscribe result arrives its cursor entry is the client's own position,
    // so a resume from any event of the handshake still recovers (or signals) that channel.
    for (const [channel, position] of Object.entries(options.resume)) {
      this.#channels.set(channel, { json: JSON.stringify(channel), position: { ...position } });
    }
    res.once('close', () => this.#peerGone());
  }

  get bufferedBytes(): number {
    return this.#heldBytes + (this.#out?.bufferedBytes ?? this.#res.writableLength);
  }

  /** Channels subscribed so far (after the handshake: every channel the stream carries). */
  get channels(): string[] {
    return [...this.#start.keys()];
  }

  attach(session: OneWaySessionPort): void {
    this.#session = session;
  }

  /**
   * Sends one command to the session; resolves with its reply (which may hold an error), after
   * the reply's events were produced. `channel` names the channel a subscribe is for.
   */
  request(command: Omit<Command, 'id'>, channel?: string): Promise<Reply> {
    if (this.#state === 'closed' || this.#session === undefined) {
      return Promise.reject(new OneWayClosedError(undefined));
    }
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.#waiters.set(id, { channel, resolve, reject }));
    this.#session.handleCommands([{ ...command, id }]);
    return reply;
  }

  /** Ends the handshake: headers, preamble, `connected`, then the held events. */
  open(headers: Readonly<Record<string, string>>): void {
    if (this.#state !== 'handshake') return;
    this.#state = 'open';
    for (const channel of [...this.#channels.keys()]) {
      if (!this.#start.has(channel)) this.#channels.delete(channel);
    }
    this.#res.socket?.setNoDelay(true);
    const out = createStreamOutput(this.#res, this.#options.encoding);
    this.#out = out;
    out.writeHead(200, { ...headers, ...this.#options.framer.headers });
    const channels = [...this.#start.keys()];
    const open = [
      `{"type":"connected","client":${JSON.stringify(this.#client)},"channels":${JSON.stringify(channels)}`,
    ];
    const chunks = [
      this.#options.framer.preamble(),
      ...this.#options.framer.event('connected', open, encodeCursor(Object.fromEntries(this.#start))),
      ...this.#held,
    ];
    this.#held = [];
    this.#heldBytes = 0;
    out.write(joinChunks(chunks));
    this.#scheduleHeartbeat();
  }

  /** Stops without writing anything more (the edge answers the request itself). */
  abort(): void {
    this.#state = 'closed';
    this.#held = [];
    this.#heldBytes = 0;
    this.#rejectWaiters(undefined);
  }

  write(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    const out: Chunk[] = [];
    for (const record of decodeOneWayRecords(frame)) this.#handle(record, out);
    this.#emit(out);
  }

  /**
   * One shared push. The common case, an open uncompressed stream of ONE channel getting that
   * channel's next publication (offset = position + 1), writes the event prebuilt once per
   * publication, framer and epoch (see `sharedEventBuilder`): byte for byte what `write` would
   * produce, since that stream's cursor depends only on channel, epoch and offset; over
   * HTTP/1.1 chunked, as one prebuilt chunk written to the socket (`chunkSocket`). Anything
   * else (handshake, several channels, a gap, compression, which needs this stream's own
   * compressor) takes `write`, so discontinuities and recovery are handled exactly as there.
   */
  writeShared(encoded: EncodedPush): void {
    const push = encoded.push;
    const pub = push.pub;
    const out = this.#out;
    if (
      pub !== undefined &&
      push.channel !== undefined &&
      this.#state === 'open' &&
      out !== undefined &&
      this.#options.encoding === undefined &&
      this.#channels.size === 1
    ) {
      const state = this.#channels.get(push.channel);
      const offset = pub.offset ?? 0;
      if (state !== undefined && offset === state.position.offset + 1) {
        state.position.offset = offset;
        const epoch = state.position.epoch;
        // Straight to the socket when possible: res.write would cork, frame the chunk in three
        // more writes and uncork on the next tick, per subscriber.
        const socket = out.chunkSocket();
        if (socket !== undefined) socket.write(encoded.frameFor(oneWayCodec, this.#chunkBuilder, epoch));
        else out.write(encoded.frameFor(oneWayCodec, this.#builder, epoch));
        return;
      }
    }
    this.write(encoded.unitFor(oneWayCodec));
  }

  /**
   * Several shared pushes of one turn. When every one is the next publication of this stream's
   * only channel (the conditions of `writeShared`, offsets contiguous through the batch), their
   * prebuilt events go out corked, as one socket write; otherwise the whole batch takes `write`,
   * exactly as the writer would have sent it.
   */
  writeSharedMany(batch: readonly EncodedPush[]): void {
    const out = this.#out;
    const first = batch[0]?.push.channel;
    const state = first === undefined ? undefined : this.#channels.get(first);
    if (
      this.#state !== 'open' ||
      out === undefined ||
      this.#options.encoding !== undefined ||
      this.#channels.size !== 1 ||
      state === undefined ||
      !contiguous(batch, first as string, state.position.offset)
    ) {
      this.write(oneWayCodec.join(batch.map((encoded) => encoded.unitFor(oneWayCodec))));
      return;
    }
    const epoch = state.position.epoch;
    const socket = out.chunkSocket();
    if (socket !== undefined) {
      socket.cork();
      for (const encoded of batch) socket.write(encoded.frameFor(oneWayCodec, this.#chunkBuilder, epoch));
      socket.uncork();
    } else {
      out.write(joinChunks(batch.map((encoded) => encoded.frameFor(oneWayCodec, this.#builder, epoch))));
    }
    state.position.offset += batch.length;
  }

  writeMany(frames: readonly Uint8Array[]): void {
    for (const frame of frames) this.write(frame);
  }

  close(disconnect: Disconnect): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#stopHeartbeat();
    this.#rejectWaiters(disconnect);
    const out = this.#out;
    if (!wasOpen || out === undefined) return;
    const reconnect = shouldReconnect(disconnect.code);
    const open = [
      `{"type":"end","code":${disconnect.code},"reason":${JSON.stringify(disconnect.reason)},"reconnect":${reconnect}`,
    ];
    out.end(joinChunks(this.#options.framer.event('end', open, undefined)));
    const timer = this.#options.clock.setTimeout(() => {
      if (!out.finished) out.destroy();
    }, this.#options.closeGraceMs);
    this.#res.once('close', () => this.#options.clock.clearTimeout(timer));
  }

  // ---- records to events ----

  #handle(record: OneWayRecord, out: Chunk[]): void {
    if (record.kind === 'publication') {
      const state = this.#channels.get(record.channel);
      if (state !== undefined) this.#publication(state, record.offset, record.data, record.extras, out);
      return;
    }
    const reply = record.reply;
    if (reply.push !== undefined) {
      this.#push(reply.push, out);
      return;
    }
    if (reply.id === undefined) return;
    const waiter = this.#waiters.get(reply.id);
    if (waiter === undefined) return;
    this.#waiters.delete(reply.id);
    if (reply.connect !== undefined) {
      this.#client = reply.connect.client;
      for (const [channel, result] of Object.entries(reply.connect.subs ?? {})) this.#subscribed(channel, result, out);
    }
    if (reply.subscribe !== undefined && waiter.channel !== undefined) {
      this.#subscribed(waiter.channel, reply.subscribe, out);
    }
    waiter.resolve(reply);
  }

  #subscribed(channel: string, result: SubscribeResult, out: Chunk[]): void {
    const had = this.#options.resume[channel];
    const top = { epoch: result.epoch ?? '', offset: result.offset ?? 0 };
    const state: ChannelState = { json: JSON.stringify(channel), position: { ...(had ?? top) } };
    this.#channels.set(channel, state);
    this.#start.set(channel, had ?? top);
    if (had !== undefined && result.recovered === true) {
      for (const pub of result.publications ?? []) {
        this.#publication(state, pub.offset ?? 0, pub.data, tagsMember(pub.tags), out);
      }
      return;
    }
    state.position = top;
    if (had !== undefined) {
      const reason =
        result.wasRecovering !== true
          ? 'not_recoverable'
          : top.epoch !== had.epoch
            ? 'epoch_changed'
            : 'history_expired';
      const open = [
        `{"type":"discontinuity","channel":${state.json},"epoch":${JSON.stringify(top.epoch)},"offset":${top.offset},"reason":"${reason}"`,
      ];
      out.push(...this.#options.framer.event('discontinuity', open, this.#cursor()));
    }
    // A state channel's snapshot: the latest document per key, in offset order, none past top.
    const snapshot = result.publications ?? [];
    if (snapshot.length === 0) return;
    for (const pub of snapshot) this.#publication(state, pub.offset ?? top.offset, pub.data, tagsMember(pub.tags), out);
    state.position.offset = top.offset;
  }

  #publication(state: ChannelState, offset: number, data: Uint8Array, extras: string, out: Chunk[]): void {
    state.position.offset = offset;
    const framer = this.#options.framer;
    out.push(...publicationEvent(framer, state.json, state.position.epoch, offset, data, extras, this.#cursor()));
  }

  #push(push: Push, out: Chunk[]): void {
    const channel = push.channel ?? '';
    const name = JSON.stringify(channel);
    if (push.unsubscribe !== undefined) {
      this.#channels.delete(channel);
      this.#start.delete(channel);
      const { code, reason } = push.unsubscribe;
      const open = [`{"type":"unsubscribe","channel":${name},"code":${code},"reason":${JSON.stringify(reason)}`];
      out.push(...this.#options.framer.event('unsubscribe', open, this.#cursor()));
    } else if (push.subscribe !== undefined) {
      const position = { epoch: push.subscribe.epoch ?? '', offset: push.subscribe.offset ?? 0 };
      this.#channels.set(channel, { json: name, position });
      this.#start.set(channel, position);
      const open = [
        `{"type":"subscribe","channel":${name},"epoch":${JSON.stringify(position.epoch)},"offset":${position.offset}`,
      ];
      out.push(...this.#options.framer.event('subscribe', open, this.#cursor()));
    } else if (push.join !== undefined || push.leave !== undefined) {
      const type = push.join !== undefined ? 'join' : 'leave';
      const info = (push.join ?? push.leave)?.info;
      const who = JSON.stringify({ user: info?.user ?? '', client: info?.client ?? '' });
      out.push(...this.#options.framer.event(type, [`{"type":"${type}","channel":${name},"info":${who}`], undefined));
    } else if (push.pub !== undefined && this.#channels.has(channel)) {
      const state = this.#channels.get(channel)!;
      const data = push.pub.data;
      this.#publication(state, push.pub.offset ?? 0, data, tagsMember(push.pub.tags), out);
    }
  }

  #cursor(): string {
    if (this.#channels.size === 1) {
      for (const [channel, state] of this.#channels) {
        let cursor = state.cursor;
        if (cursor?.epoch !== state.position.epoch) {
          cursor = new OneChannelCursor(channel, state.position.epoch);
          state.cursor = cursor;
        }
        return cursor.at(channel, state.position.offset);
      }
    }
    // No prototype, so a channel named like an Object.prototype member is an own key too.
    const positions: Record<string, StreamPosition> = Object.create(null);
    for (const [channel, state] of this.#channels) positions[channel] = state.position;
    return encodeCursor(positions);
  }

  // ---- output ----

  #emit(chunks: Chunk[]): void {
    if (chunks.length === 0) return;
    if (this.#state === 'handshake') {
      for (const c of chunks) this.#heldBytes += typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength;
      this.#held.push(...chunks);
      return;
    }
    const out = this.#out;
    if (out === undefined) return;
    // One prebuilt chunk straight to the socket when possible (see writeShared).
    const socket = out.chunkSocket();
    if (socket !== undefined) socket.write(joinAsHttpChunk(chunks));
    else out.write(joinChunks(chunks));
  }

  #scheduleHeartbeat(): void {
    this.#heartbeat = this.#options.clock.setTimeout(() => {
      if (this.#state !== 'open') return;
      // A stream with bytes still in flight is alive enough; this keeps heartbeats bounded too.
      if (this.#out !== undefined && this.#out.bufferedBytes === 0) this.#out.write(this.#options.framer.heartbeat());
      this.#scheduleHeartbeat();
    }, this.#options.heartbeatIntervalMs);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) this.#options.clock.clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #rejectWaiters(disconnect: Disconnect | undefined): void {
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const w of waiters) w.reject(new OneWayClosedError(disconnect));
  }

  #peerGone(): void {
    this.#state = 'closed';
    this.#stopHeartbeat();
    this.#rejectWaiters(undefined);
    // Idempotent in the session, so a stream it closed itself is released once too.
    this.#session?.transportClosed();
  }
}

/** True when `batch` is publications of `channel` at offsets after, after + 1, … with no gap. */
function contiguous(batch: readonly EncodedPush[], channel: string, after: number): boolean {
  let next = after + 1;
  for (const encoded of batch) {
    const push = encoded.push;
    if (push.channel !== channel || push.pub === undefined || (push.pub.offset ?? 0) !== next) return false;
    next++;
  }
  return true;
}

function tagsMember(tags: Readonly<Record<string, string>> | undefined): string {
  return tags !== undefined && Object.keys(tags).length > 0 ? `,"tags":${JSON.stringify(tags)}` : '';
}
