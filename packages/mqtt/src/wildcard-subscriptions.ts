import type { Publication } from '@tidings/protocol';
import {
  channelLevels,
  type EncodedPush,
  type HubPatternSubscriber,
  PatternIndex,
  type PatternSubscription,
  type Session,
  type StreamPublication,
} from '@tidings/server';
import type { EdgeContext, OutboundQueue, SubscriptionState } from './outbound.js';
import { MqttReason } from './reason-codes.js';

/** One wildcard filter of a connection. */
interface Filter {
  readonly topic: string;
  readonly levels: readonly string[];
  qos: 0 | 1;
  handle: PatternSubscription | undefined;
}

/** What one connection knows of a channel matched by its filters. */
interface Matched {
  readonly allowed: boolean;
  /** The match's topic, QoS and last position the client has (advanced by the outbound queue). */
  readonly state: SubscriptionState;
  /** Last offset received live (gap detection); 0 before the first one. */
  seen: number;
}

/** What the wildcard subscriptions need from their connection. */
export interface WildcardHost {
  session(): Session | undefined;
  readonly out: OutboundQueue;
  fail(reason: number): void;
}

/** Matched channels remembered per connection; past this the memory is reset (see below). */
const MAX_MATCHED_CHANNELS = 10_000;

/**
 * The `+` / `#` subscriptions of one MQTT connection, served by the node's pattern index.
 *
 * Contract: a publication of a channel matched by one or more filters is delivered once, with
 * the highest QoS of the matching filters (MQTT 5 §3.3.4 allows one copy), and not at all when
 * the connection also subscribed the channel by name (that subscription delivers it). Each
 * matched channel passes the namespace permission check of `Session.mayReceiveByPattern` once;
 * a refused channel is never delivered. A gap or epoch change in a matched channel's offsets,
 * or an engine discontinuity, fails the connection with 0x80 so the client reconnects — never a
 * silent skip. At most `MAX_MATCHED_CHANNELS` channels are remembered; past that the memory is
 * cleared, which only forgets permission answers and gap baselines.
 */
export class WildcardSubscriptions implements HubPatternSubscriber {
  readonly #ctx: EdgeContext;
  readonly #host: WildcardHost;
  readonly #filters = new Map<string, Filter>();
  readonly #index = new PatternIndex<Filter>();
  #matched = new Map<string, Matched>();
  #closed = false;

  constructor(ctx: EdgeContext, host: WildcardHost) {
    this.#ctx = ctx;
    this.#host = host;
  }

  get size(): number {
    return this.#filters.size;
  }

  has(topic: string): boolean {
    return this.#filters.has(topic);
  }

  /** The filters, for a persistent session. */
  filters(): Array<{ topic: string; qos: 0 | 1 }> {
    return [...this.#filters.values()].map((f) => ({ topic: f.topic, qos: f.qos }));
  }

  /**
   * Subscribes a filter (levels in channel terms). Resolves once the engine delivers its
   * channels; a repeated filter only changes its QoS. Rejects with the node's error.
   */
  async add(topic: string, levels: readonly string[], qos: 0 | 1): Promise<void> {
    const existing = this.#filters.get(topic);
    if (existing !== undefined) {
      existing.qos = qos;
      for (const [channel, m] of this.#matched) m.state.qos = this.#bestQos(channel) ?? m.state.qos;
      return;
    }
    const filter: Filter = { topic, levels, qos, handle: undefined };
    this.#filters.set(topic, filter);
    this.#index.add(levels, filter);
    try {
      filter.handle = await this.#ctx.node.subscribePattern(levels, this);
    } catch (error) {
      this.#drop(filter);
      throw error;
    }
    if (this.#closed || this.#filters.get(topic) !== filter) filter.handle.close();
  }

  remove(topic: string): boolean {
    const filter = this.#filters.get(topic);
    if (filter === undefined) return false;
    this.#drop(filter);
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const filter of [...this.#filters.values()]) this.#drop(filter);
    this.#matched.clear();
  }

  /**
   * The channel a publication of a matched channel is delivered for, with the match state, or
   * undefined when it is not to be delivered (no filter matches, refused, subscribed by name).
   */
  #admit(channel: string): Matched | undefined {
    if (this.#host.out.subscription(channel) !== undefined) return undefined;
    let m = this.#matched.get(channel);
    if (m === undefined) {
      const qos = this.#bestQos(channel);
      if (qos === undefined) return undefined;
      const topic = this.#ctx.mapping.channelToTopic(channel);
      const allowed = this.#host.session()?.mayReceiveByPattern(channel) === true;
      if (this.#matched.size >= MAX_MATCHED_CHANNELS) this.#matched = new Map();
      m = { allowed, state: { topic, qos, epoch: '', offset: 0 }, seen: 0 };
      this.#matched.set(channel, m);
    }
    return m.allowed ? m : undefined;
  }

  deliverPatternPublication(channel: string, pub: StreamPublication, epoch: string, encoded: EncodedPush): void {
    if (this.#closed) return;
    const m = this.#admit(channel);
    if (m === undefined) return;
    if (m.seen > 0) {
      if (epoch !== m.state.epoch || pub.offset > m.seen + 1) {
        this.#host.fail(MqttReason.UnspecifiedError);
        return;
      }
      if (pub.offset <= m.seen) return;
    }
    m.seen = pub.offset;
    m.state.epoch = epoch;
    this.#host.out.deliver(channel, pub, false, encoded, m.state);
  }

  /**
   * Sends the latest publication of a channel as retained for a new filter (MQTT's retained
   * message), when the channel is admitted; it becomes the gap baseline of live ones.
   */
  deliverRetained(channel: string, pub: Publication, epoch: string): void {
    if (this.#closed) return;
    const m = this.#admit(channel);
    if (m === undefined || (m.seen > 0 && m.state.epoch === epoch)) return;
    m.seen = pub.offset ?? 0;
    m.state.epoch = epoch;
    this.#host.out.deliver(channel, pub, true, undefined, m.state);
  }

  patternDiscontinuity(): void {
    if (!this.#closed) this.#host.fail(MqttReason.UnspecifiedError);
  }

  #bestQos(channel: string): 0 | 1 | undefined {
    const levels = channelLevels(channel);
    if (levels === undefined) return undefined;
    let best: 0 | 1 | undefined;
    this.#index.match(levels, (f) => {
      if (best === undefined || f.qos > best) best = f.qos;
    });
    return best;
  }

  #drop(filter: Filter): void {
    this.#filters.delete(filter.topic);
    this.#index.remove(filter.levels, filter);
    filter.handle?.close();
    filter.handle = undefined;
    // Matches are recomputed against the remaining filters on their next publication.
    this.#matched.clear();
  }
}
