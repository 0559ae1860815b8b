import type { Msg, Subscription } from '@nats-io/transport-node';
import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import {
  type Broker,
  type BrokerEventHandler,
  type BrokerPublishItem,
  type BrokerPublishOptions,
  type BrokerPublishOutcome,
  type BrokerPublishResult,
  decodeClientInfo,
  decodeStreamPublication,
  encodeClientInfo,
  encodePublicationBody,
  type HistoryQuery,
  type HistoryReadResult,
  type HistoryStore,
} from '@tidings/server';
import { ChannelLog, type ChannelTop } from './channel-log.js';
import { type NatsConnector, type NatsHandles, toUnavailable } from './connection.js';
import type { NatsNames } from './names.js';
import { readRecord, recordHeaders } from './records.js';
import { RepublishOrderer, republishPosition } from './republish-order.js';

/** Options of a `NatsBroker`. */
export interface NatsBrokerOptions {
  readonly connector: NatsConnector;
  readonly names: NatsNames;
  /** The stream's `max_msgs_per_subject`: sizes at or above it need no purge after a publish. */
  readonly maxMessagesPerChannel: number;
}

const JOIN = 0x6a; // 'j'
const LEAVE = 0x6c; // 'l'

/**
 * A `Broker` and `HistoryStore` on NATS JetStream, shared by any number of nodes.
 *
 * - One stream holds every channel, one subject per channel. A publication carries its channel
 *   offset and epoch in headers, and is appended with `Nats-Expected-Last-Subject-Sequence` set
 *   to the sequence of the subject's last message, whose headers gave the previous offset: the
 *   server accepts exactly one append per position, losers re-read and retry. Offsets are thus
 *   contiguous per channel across processes, with no duplicates.
 * - Epoch: random per channel life, written with the channel's first message (a marker when
 *   the channel is read before it is published to). When the subject empties (stream deleted or
 *   purged, everything aged out by the stream's `max_age`), the next use starts a new epoch at 1.
 * - Retention: every few publishes the subject is purged down to `history.size` (at least one
 *   message, the top carrier); reads apply the size, `removeHistory` markers and each publication's
 *   TTL from headers, so they are exact even before a purge lands. A live-only publish (size 0,
 *   `skip_history`) neither stores nor purges: it leaves a hole. Stream-wide limits
 *   (`max_msgs_per_subject`, `max_age`) are the outer bound, and the only one for channels that
 *   never keep history.
 * - Idempotency: `Nats-Msg-Id` = hash(channel, key); the dedupe window is the stream's
 *   `duplicate_window`, so a publish's own `idempotencyWindowMs` is not used. A duplicate
 *   resolves with the first publication's position and `suppressed: true`, read from the first
 *   message, or when history no longer holds it, from a record in the idempotency stream.
 * - Delivery: the stream republishes every stored message to a core subject per channel; a
 *   node holds one core subscription per channel, so it receives exactly the stored messages
 *   (rejected appends are never republished). The server may queue two republishes in the
 *   opposite order of their sequences when they were published on separate connections, so
 *   each channel's messages pass through a `RepublishOrderer` that restores stream order.
 *   Joins and leaves travel on another core subject. After a reconnect, `onDiscontinuity`
 *   receives every subscribed channel.
 * - Fail fast: while disconnected every call rejects at once with `TIDINGS_ERR_UNAVAILABLE`;
 *   after `close()` with `TIDINGS_ERR_STATE` (except `unsubscribe` and `close`).
 */
export class NatsBroker implements Broker, HistoryStore {
  readonly #connector: NatsConnector;
  readonly #names: NatsNames;
  readonly #log: ChannelLog;
  readonly #maxPerChannel: number;
  readonly #subscriptions = new Map<string, Subscription[]>();
  /** Subscribed channel prefixes; one wildcard subscription on every delivery subject serves them all. */
  readonly #prefixes = new Set<string>();
  #prefixSubscription: Subscription | undefined;
  /** Per channel, the tail of this process's queue of appends (one at a time per channel). */
  readonly #tails = new Map<string, Promise<unknown>>();
  #handler: BrokerEventHandler | undefined;
  #closed = false;
  /** Restores stream order per channel, for the channel subscriptions and for the prefix one. */
  readonly #ordered = new RepublishOrderer<Msg>((channel, msg) => this.#deliverPublication(channel, msg));
  readonly #orderedByPrefix = new RepublishOrderer<Msg>((channel, msg) => this.#deliverPublication(channel, msg, true));

  constructor(options: NatsBrokerOptions) {
    this.#connector = options.connector;
    this.#names = options.names;
    this.#log = new ChannelLog(options.names);
    this.#maxPerChannel = options.maxMessagesPerChannel;
    this.#connector.onReconnect(() => {
      // What was lost while disconnected is not coming back: stop waiting for it.
      this.#ordered.flushAll();
      this.#orderedByPrefix.flushAll();
      const channels = [...this.#subscriptions.keys()];
      if (channels.length > 0 && !this.#closed) this.#handler?.onDiscontinuity?.(channels);
      if (this.#prefixes.size > 0 && !this.#closed) this.#handler?.onPrefixDiscontinuity?.();
    });
  }

  /** True while connected (for `/readyz`). */
  ready(): boolean {
    return !this.#closed && this.#connector.ready;
  }

  /** Sets the handler and connects; rejects with `TIDINGS_ERR_UNAVAILABLE` when NATS is unreachable. */
  async start(handler: BrokerEventHandler): Promise<void> {
    this.#assertOpen('start');
    if (this.#handler !== undefined)
      throw new TidingsError(TidingsErrorCode.State, 'NatsBroker.start: already started');
    this.#handler = handler;
    await this.#connector.use();
  }

  /** Subscribes this node to the republished and event subjects of `channels` (idempotent). */
  async subscribe(channels: readonly string[]): Promise<void> {
    this.#assertOpen('subscribe');
    const { nc } = await this.#connector.use();
    for (const channel of channels) {
      if (this.#subscriptions.has(channel)) continue;
      const deliveries = nc.subscribe(this.#names.delivery(channel), {
        callback: (err, msg) => {
          if (err === null) this.#ordered.push(channel, republishPosition(msg.headers), msg);
        },
      });
      const events = nc.subscribe(this.#names.events(channel), {
        callback: (err, msg) => {
          if (err === null) this.#deliverEvent(channel, msg);
        },
      });
      this.#subscriptions.set(channel, [deliveries, events]);
    }
    // The server registers subscriptions in order; a flush makes them effective before we return.
    await nc.flush().catch((err: unknown) => {
      throw toUnavailable(err, 'subscribing');
    });
  }

  /** Stops delivery of these channels at once (idempotent; a no-op after close). */
  async unsubscribe(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      for (const sub of this.#subscriptions.get(channel) ?? []) sub.unsubscribe();
      this.#subscriptions.delete(channel);
      this.#ordered.forget(channel);
    }
  }

  /**
   * Channel subjects are base64url tokens, which NATS wildcards cannot cut by name prefix, so
   * the first prefix subscribes `<prefix>.r.>` (every channel's republished deliveries) and each
   * message is kept when its decoded channel starts with a subscribed prefix: once per
   * publication however many prefixes match. The node then receives every publication of the
   * cluster while it has a wildcard subscriber (documented in docs/mqtt.md).
   */
  async subscribePrefixes(prefixes: readonly string[]): Promise<void> {
    this.#assertOpen('subscribePrefixes');
    const { nc } = await this.#connector.use();
    for (const prefix of prefixes) this.#prefixes.add(prefix);
    if (this.#prefixSubscription === undefined && this.#prefixes.size > 0) {
      this.#prefixSubscription = nc.subscribe(this.#names.deliveryWildcard, {
        callback: (err, msg) => {
          if (err !== null) return;
          const channel = this.#names.channelOfDelivery(msg.subject);
          if (channel !== undefined && this.#matchesPrefix(channel))
            this.#orderedByPrefix.push(channel, republishPosition(msg.headers), msg);
        },
      });
    }
    await nc.flush().catch((err: unknown) => {
      throw toUnavailable(err, 'subscribing');
    });
  }

  /** Stops these prefixes (idempotent; a no-op after close); the wildcard goes with the last one. */
  async unsubscribePrefixes(prefixes: readonly string[]): Promise<void> {
    for (const prefix of prefixes) this.#prefixes.delete(prefix);
    if (this.#prefixes.size === 0 && this.#prefixSubscription !== undefined) {
      this.#prefixSubscription.unsubscribe();
      this.#prefixSubscription = undefined;
      this.#orderedByPrefix.clear();
    }
  }

  /** Channels with a history subject under `prefix` (the stream's subject list), at most `limit`. */
  async channels(prefix: string, limit: number): Promise<string[]> {
    this.#assertOpen('channels');
    const h = await this.#connector.use();
    const info = await h.jsm.streams
      .info(this.#names.stream, { subjects_filter: this.#names.historyWildcard })
      .catch((err: unknown) => {
        throw toUnavailable(err, 'listing channels');
      });
    const out: string[] = [];
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const channel = this.#names.channelOfHistory(subject);
      if (channel?.startsWith(prefix)) out.push(channel);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Appends and resolves with the stored position, or the first one for a repeated key. */
  async publish(channel: string, data: Uint8Array, options: BrokerPublishOptions = {}): Promise<BrokerPublishResult> {
    this.#assertOpen('publish');
    const h = await this.#connector.use();
    return this.#publish(h, channel, data, options);
  }

  /**
   * Publishes `items` with their JetStream acks in flight: items of different channels are sent
   * without waiting for each other's ack; items of one channel are appended one after another,
   * in item order (each compare-and-set names the stream sequence the previous ack returned, so
   * it cannot be sent before that ack). One item's failure fails only that item.
   */
  async publishMany(items: readonly BrokerPublishItem[]): Promise<BrokerPublishOutcome[]> {
    this.#assertOpen('publishMany');
    let h: NatsHandles;
    try {
      h = await this.#connector.use();
    } catch (error) {
      return items.map(() => ({ ok: false, error }));
    }
    // Enqueued synchronously, so each channel's serial chain holds its items in array order.
    const pending = items.map((item) => this.#publish(h, item.channel, item.data, item.options ?? {}));
    const settled = await Promise.allSettled(pending);
    return settled.map((r) =>
      r.status === 'fulfilled' ? { ok: true, result: r.value } : { ok: false, error: r.reason },
    );
  }

  #publish(
    h: NatsHandles,
    channel: string,
    data: Uint8Array,
    options: BrokerPublishOptions,
  ): Promise<BrokerPublishResult> {
    const size = options.history === undefined ? 0 : Math.max(0, Math.floor(options.history.size));
    const ttlMs = options.history === undefined ? 0 : Math.max(0, Math.ceil(options.history.ttlMs));
    const key = options.idempotencyKey;
    const msgId = key === undefined ? undefined : this.#names.msgId(channel, key);
    return this.#serial(channel, async () => {
      const { top, duplicateOf } = await this.#log.append(h, channel, {
        body: encodePublicationBody({ data, info: options.info, tags: options.tags }),
        record: (t) => ({ kind: 'pub', offset: t.offset + 1, epoch: t.epoch, size, ttlMs }),
        ...(msgId === undefined ? {} : { msgId }),
      });
      if (duplicateOf !== undefined) return this.#duplicate(h, channel, duplicateOf, msgId);
      if (msgId !== undefined) await this.#rememberKey(h, msgId, top);
      // Reads apply the size themselves, so purging every few publishes only bounds storage
      // (at most size + interval messages per subject) and halves the requests under load.
      const interval = Math.min(64, Math.max(4, Math.ceil(size / 4)));
      // A live-only publish (size 0) must not purge what earlier publishes kept.
      if (size > 0 && size < this.#maxPerChannel && top.offset % interval === 0) this.#trim(h, channel, size);
      return { offset: top.offset, epoch: top.epoch };
    });
  }

  /** Sends a join to every node subscribed to `channel` (core NATS, not stored). */
  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    await this.#publishEvent('publishJoin', JOIN, channel, info);
  }

  /** Sends a leave to every node subscribed to `channel` (core NATS, not stored). */
  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    await this.#publishEvent('publishLeave', LEAVE, channel, info);
  }

  /** Reads history per the `HistoryStore` contract (see `ChannelLog.history`). */
  async history(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    this.#assertOpen('history');
    const h = await this.#connector.use();
    return this.#log.history(h, channel, query, Date.now());
  }

  /**
   * Drops the stored publications of `channel`; the top offset and epoch stay: a marker with
   * the top is appended (compare-and-set, like a publish), then everything before it is purged.
   */
  async removeHistory(channel: string): Promise<void> {
    this.#assertOpen('removeHistory');
    const h = await this.#connector.use();
    await this.#serial(channel, async () => {
      const top = await this.#log.readTop(h, channel);
      if (top.record === undefined) return;
      await this.#log.append(h, channel, {
        body: new Uint8Array(0),
        record: (t) => ({ kind: 'top', offset: t.offset, epoch: t.epoch, size: 0, ttlMs: 0 }),
      });
      await this.#purge(h, channel, 1);
    });
  }

  /** Drops subscriptions and the handler, and releases the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    await this.unsubscribe([...this.#subscriptions.keys()]);
    await this.unsubscribePrefixes([...this.#prefixes]);
    await Promise.allSettled([...this.#tails.values()]);
    await this.#connector.close();
  }

  async #duplicate(h: NatsHandles, channel: string, seq: number, msgId?: string): Promise<BrokerPublishResult> {
    let first = await this.#log.recordAt(h, channel, seq);
    if ((first === undefined || first.kind !== 'pub') && msgId !== undefined) {
      const remembered = await h.jsm.direct
        .getMessage(this.#names.idempotencyStream, { last_by_subj: this.#names.idempotency(msgId) })
        .catch((err: unknown) => {
          throw toUnavailable(err, 'reading an idempotency record');
        });
      first = readRecord(remembered?.header);
    }
    if (first === undefined || first.kind !== 'pub')
      throw new TidingsError(
        TidingsErrorCode.Unavailable,
        `publish to ${channel}: the idempotency key matched a publication no longer retained`,
      );
    return { offset: first.offset, epoch: first.epoch, suppressed: true };
  }

  async #rememberKey(h: NatsHandles, msgId: string, top: ChannelTop): Promise<void> {
    const record = recordHeaders({ kind: 'pub', offset: top.offset, epoch: top.epoch, size: 0, ttlMs: 0 });
    // Failing here would turn a stored publication into an error; the stream copy usually suffices.
    await h.js.publish(this.#names.idempotency(msgId), new Uint8Array(0), { headers: record }).catch(() => undefined);
  }

  #trim(h: NatsHandles, channel: string, keep: number): void {
    // Not awaited: reads apply the size themselves, the purge only frees storage.
    void this.#purge(h, channel, keep).catch(() => undefined);
  }

  async #purge(h: NatsHandles, channel: string, keep: number): Promise<void> {
    await h.jsm.streams.purge(this.#names.stream, { filter: this.#names.history(channel), keep }).catch((err) => {
      throw toUnavailable(err, 'purging history');
    });
  }

  async #publishEvent(method: string, kind: number, channel: string, info: ClientInfo): Promise<void> {
    this.#assertOpen(method);
    const { nc } = await this.#connector.use();
    const body = encodeClientInfo(info);
    const message = new Uint8Array(body.length + 1);
    message[0] = kind;
    message.set(body, 1);
    nc.publish(this.#names.events(channel), message);
  }

  #serial<T>(channel: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(channel) ?? Promise.resolve();
    const next = previous.then(run, run);
    const tail = next.catch(() => undefined);
    this.#tails.set(channel, tail);
    void tail.then(() => {
      if (this.#tails.get(channel) === tail) this.#tails.delete(channel);
    });
    return next;
  }

  #matchesPrefix(channel: string): boolean {
    for (const prefix of this.#prefixes) if (channel.startsWith(prefix)) return true;
    return false;
  }

  #deliverPublication(channel: string, msg: Msg, byPrefix = false): void {
    const handler = this.#handler;
    const record = readRecord(msg.headers);
    if (handler === undefined || record === undefined || record.kind !== 'pub') return;
    try {
      const stamp = msg.headers?.get('Nats-Time-Stamp');
      const time = stamp === undefined ? Number.NaN : Date.parse(stamp);
      const pub = decodeStreamPublication(msg.data, record.offset, Number.isFinite(time) ? time : Date.now());
      if (byPrefix) handler.onPrefixPublication?.(channel, pub, record.epoch);
      else handler.onPublication(channel, pub, record.epoch);
    } catch (err) {
      // A handler or decoding failure must surface without breaking the subscription.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #deliverEvent(channel: string, msg: Msg): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    try {
      const info = decodeClientInfo(msg.data.subarray(1));
      if (msg.data[0] === JOIN) handler.onJoin(channel, info);
      else if (msg.data[0] === LEAVE) handler.onLeave(channel, info);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `NatsBroker.${method}: broker is closed`);
  }
}
