import type { Publication } from '@tidings/protocol';
import type { EncodedPush, TidingsNode } from '@tidings/server';
import mqttPacket from 'mqtt-packet';
import type { MqttOptions } from './mqtt-options.js';
import { MqttReason } from './reason-codes.js';
import type { SessionStore, StoredSubscription } from './session-store.js';
import type { TopicMapping } from './topic-mapping.js';

/** What every connection of one MQTT edge shares. */
export interface EdgeContext {
  readonly node: TidingsNode;
  readonly mapping: TopicMapping;
  readonly options: MqttOptions;
  readonly store: SessionStore;
  readonly connections: Map<string, { takeOver(): void }>;
  /** QoS 0 PUBLISH bytes built once per publication and protocol level, shared by subscribers. */
  readonly sharedPackets: { readonly v4: WeakMap<EncodedPush, Buffer>; readonly v5: WeakMap<EncodedPush, Buffer> };
}

/** A live subscription of one connection; `offset` is the last position the client has. */
export interface SubscriptionState {
  topic: string;
  qos: 0 | 1;
  epoch: string;
  offset: number;
}

/** Where the queue writes. */
export interface OutboundSink {
  writeBytes(bytes: Buffer): void;
  fail(reason: number): void;
  readonly socketBufferedBytes: number;
}

interface Inflight {
  readonly channel: string;
  readonly offset: number;
  /** The wildcard match state it was sent for; undefined for a subscription by name. */
  readonly state: SubscriptionState | undefined;
}

interface Waiting {
  readonly channel: string;
  readonly pub: Publication;
  readonly retain: boolean;
  readonly shared: EncodedPush | undefined;
  readonly state: SubscriptionState | undefined;
}

/**
 * The subscriptions and outbound QoS flow of one MQTT connection.
 *
 * Contract: QoS 1 messages in flight never exceed min(server maxInflight, client Receive
 * Maximum); the rest wait in a queue of at most `maxQueuedMessages`, and the socket buffer stays
 * under `maxSocketBufferBytes`; past either bound the connection fails with 0x97 (quota
 * exceeded), so memory per client is bounded. A subscription's position advances when a QoS 0
 * message is written or a QoS 1 message is acknowledged, so a resumed session re-gets exactly
 * what was not acknowledged.
 */
export class OutboundQueue {
  readonly #ctx: EdgeContext;
  readonly #sink: OutboundSink;
  readonly #subs = new Map<string, SubscriptionState>();
  readonly #inflight = new Map<number, Inflight>();
  #waiting: Waiting[] = [];
  #held: Waiting[] | undefined;
  #version: 3 | 4 | 5 = 4;
  #receiveMax: number;
  #clientMaxPacket = Number.POSITIVE_INFINITY;
  #nextId = 1;
  #closed = false;

  constructor(ctx: EdgeContext, sink: OutboundSink) {
    this.#ctx = ctx;
    this.#sink = sink;
    this.#receiveMax = ctx.options.maxInflight;
  }

  configure(version: 3 | 4 | 5, receiveMaximum?: number, maximumPacketSize?: number): void {
    this.#version = version;
    if (receiveMaximum !== undefined && receiveMaximum > 0) {
      this.#receiveMax = Math.min(receiveMaximum, this.#ctx.options.maxInflight);
    }
    if (maximumPacketSize !== undefined && maximumPacketSize > 0) this.#clientMaxPacket = maximumPacketSize;
  }

  subscription(channel: string): SubscriptionState | undefined {
    return this.#subs.get(channel);
  }

  addSubscription(channel: string, state: SubscriptionState): void {
    this.#subs.set(channel, state);
  }

  removeSubscription(channel: string): void {
    this.#subs.delete(channel);
  }

  /** The positions to store with a persistent session. */
  positions(): StoredSubscription[] {
    return [...this.#subs].map(([channel, s]) => ({
      topic: s.topic,
      channel,
      qos: s.qos,
      epoch: s.epoch,
      offset: s.offset,
    }));
  }

  /** Keep deliveries back (until CONNACK or SUBACK went out). */
  hold(): void {
    this.#held ??= [];
  }

  /** Send what was held, in order, and deliver directly again. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) for (const w of held) this.deliver(w.channel, w.pub, w.retain, w.shared, w.state);
  }

  discardHeld(): void {
    if (this.#held !== undefined) this.#held = [];
  }

  /**
   * Queue one message for `channel`: on its subscription by name, or — for a wildcard match —
   * on `state`, the match's own topic, QoS and position (see `WildcardSubscriptions`).
   */
  deliver(
    channel: string,
    pub: Publication,
    retain: boolean,
    shared: EncodedPush | undefined,
    state?: SubscriptionState,
  ): void {
    if (this.#closed) return;
    const sub = state ?? this.#subs.get(channel);
    if (sub === undefined) return;
    const offset = pub.offset ?? 0;
    if (offset !== 0 && offset <= sub.offset && !retain) return; // already delivered (recovery overlap)
    if (this.#held !== undefined) {
      if (this.#held.length >= this.#ctx.options.maxQueuedMessages) this.#sink.fail(MqttReason.QuotaExceeded);
      else this.#held.push({ channel, pub, retain, shared, state });
      return;
    }
    if (this.#sink.socketBufferedBytes > this.#ctx.options.maxSocketBufferBytes) {
      this.#sink.fail(MqttReason.QuotaExceeded);
      return;
    }
    if (sub.qos === 0) {
      const bytes = this.#qos0Bytes(channel, sub.epoch, pub, retain, shared);
      if (offset > sub.offset) sub.offset = offset;
      if (bytes.length <= this.#clientMaxPacket) this.#sink.writeBytes(bytes);
      return;
    }
    if (this.#inflight.size >= this.#receiveMax) {
      if (this.#waiting.length >= this.#ctx.options.maxQueuedMessages) {
        this.#sink.fail(MqttReason.QuotaExceeded);
        return;
      }
      this.#waiting.push({ channel, pub, retain, shared, state });
      return;
    }
    this.#sendQos1(channel, sub, pub, retain, state);
  }

  /** A PUBACK arrived. */
  acked(id: number): void {
    const entry = this.#inflight.get(id);
    if (entry === undefined) return;
    this.#inflight.delete(id);
    const sub = entry.state ?? this.#subs.get(entry.channel);
    if (sub !== undefined && entry.offset > sub.offset) sub.offset = entry.offset;
    while (!this.#closed && this.#waiting.length > 0 && this.#inflight.size < this.#receiveMax) {
      const next = this.#waiting.shift()!;
      const s = next.state ?? this.#subs.get(next.channel);
      if (s !== undefined) this.#sendQos1(next.channel, s, next.pub, next.retain, next.state);
    }
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  close(): void {
    this.#closed = true;
    this.#waiting = [];
    this.#held = undefined;
    this.#inflight.clear();
  }

  #sendQos1(
    channel: string,
    sub: SubscriptionState,
    pub: Publication,
    retain: boolean,
    state: SubscriptionState | undefined,
  ): void {
    let id = this.#nextId;
    while (this.#inflight.has(id)) id = id === 65535 ? 1 : id + 1;
    this.#nextId = id === 65535 ? 1 : id + 1;
    const bytes = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: sub.topic,
        payload: asBuffer(pub.data),
        qos: 1,
        retain,
        dup: false,
        messageId: id,
        ...this.#positionProperties(pub, sub.epoch),
      },
      { protocolVersion: this.#version },
    );
    const offset = pub.offset ?? 0;
    if (bytes.length > this.#clientMaxPacket) {
      // MQTT 5 §3.1.2.11.4: a packet over the client's maximum is discarded as if it was sent.
      if (offset > sub.offset) sub.offset = offset;
      return;
    }
    this.#inflight.set(id, { channel, offset, state });
    this.#sink.writeBytes(bytes);
  }

  /** `tidings-offset` / `tidings-epoch` user properties, when on and the client speaks 5.0. */
  #positionProperties(pub: Publication, epoch: string): { properties?: { userProperties: Record<string, string> } } {
    if (!this.#ctx.options.positionProperties || this.#version !== 5 || pub.offset === undefined) return {};
    return { properties: { userProperties: { 'tidings-offset': String(pub.offset), 'tidings-epoch': epoch } } };
  }

  // The shared packet carries the channel's epoch: every subscriber of one channel follows the
  // same stream, so the bytes are the same for all of them.
  #qos0Bytes(
    channel: string,
    epoch: string,
    pub: Publication,
    retain: boolean,
    shared: EncodedPush | undefined,
  ): Buffer {
    const cache =
      shared === undefined || retain
        ? undefined
        : this.#version === 5
          ? this.#ctx.sharedPackets.v5
          : this.#ctx.sharedPackets.v4;
    const hit = cache?.get(shared!);
    if (hit !== undefined) return hit;
    const bytes = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: this.#ctx.mapping.channelToTopic(channel),
        payload: asBuffer(pub.data),
        qos: 0,
        retain,
        dup: false,
        ...this.#positionProperties(pub, epoch),
      },
      { protocolVersion: this.#version },
    );
    if (cache !== undefined) cache.set(shared!, bytes);
    return bytes;
  }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
