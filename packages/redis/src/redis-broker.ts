import { randomBytes } from 'node:crypto';
import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import {
  type Broker,
  type BrokerEventHandler,
  type BrokerPublishItem,
  type BrokerPublishOptions,
  type BrokerPublishOutcome,
  type BrokerPublishResult,
  decodeClientInfo,
  encodeClientInfo,
  encodePublicationBody,
  type HistoryQuery,
  type HistoryReadResult,
  type HistoryStore,
} from '@tidings/server';
import type { Reply } from './connection.js';
import type { KeySpace } from './keys.js';
import {
  asArray,
  asNumber,
  asText,
  decodeEntry,
  decodePublicationMessage,
  decodePublicationRun,
  MessageKind,
} from './replies.js';
import { HISTORY_SCRIPT, PUBLISH_MANY_SCRIPT, PUBLISH_SCRIPT } from './scripts.js';
import type { PubSubListener, RedisCommands, RedisSubscriptions } from './transport.js';

/** Stream metadata lifetime when a publish names none: 30 days, as the memory engine. */
export const DEFAULT_META_TTL_MS = 30 * 24 * 3600 * 1000;
/** Idempotency window when a publish names none: 5 minutes, as the memory engine. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 5 * 60 * 1000;

/** Options of a `RedisBroker`. */
export interface RedisBrokerOptions {
  /** Runs publish scripts and history reads. */
  readonly commands: RedisCommands;
  /** Dedicated to (S)SUBSCRIBE / (S)UNSUBSCRIBE; never runs other commands. */
  readonly subscriber: RedisSubscriptions;
  readonly keys: KeySpace;
  /**
   * Sharded pub/sub (Redis 7+): publishes use SPUBLISH, so `subscriber` must use SSUBSCRIBE.
   * Required on a Redis Cluster, where plain PUBLISH is broadcast to every shard.
   */
  readonly sharded?: boolean;
  /**
   * True when one script may touch the keys of several channels (a standalone Redis): a batch is
   * then one script call. False or absent: one call per channel (Redis Cluster slots).
   */
  readonly scriptsSpanSlots?: boolean;
  /** How long `start` waits for both connections. */
  readonly connectTimeoutMs: number;
  readonly metaTtlMs?: number;
  readonly idempotencyWindowMs?: number;
}

/**
 * A `Broker` and `HistoryStore` on Redis, shared by any number of nodes.
 *
 * - `publish` is one Lua script (see `scripts.ts`): idempotency check, offset increment on the
 *   channel's meta hash (new random epoch when the meta is missing), history append to a Redis
 *   stream trimmed to `history.size` (`MAXLEN`, exact), TTLs, and PUBLISH (SPUBLISH when
 *   `sharded`) of the encoded publication with its epoch. Offsets are therefore assigned once,
 *   in Redis, for all nodes, and every node receives a channel's publications in offset order.
 * - Retention: the whole history of a channel expires `history.ttlMs` after its last publish
 *   (Centrifugo's semantics; the memory engine expires entries one by one). The meta expires
 *   `max(metaTtlMs, ttlMs)` after the last publish; the next use then starts a new epoch.
 *   `size: 0` (or no `history`, e.g. `skip_history`) assigns an offset, stores nothing and
 *   leaves what was kept untouched (history reads then have a hole at that offset).
 * - Publication `time` is Redis server time, so all nodes agree.
 * - Delivery: one Redis pub/sub subscription per channel per node, on a dedicated connection
 *   (with `sharded`, on the connection to the shard owning the channel's slot);
 *   joins and leaves travel on the same Redis channel, so they are ordered with publications.
 *   A `publishMany` call sends each channel's publications as one message (`P`, a run at
 *   consecutive offsets; see `PUBLISH_MANY_SCRIPT`), decoded here into one delivery each.
 *   Delivery is at most once; after the subscriber connection was lost and came back, the
 *   handler's `onDiscontinuity` receives every subscribed channel so the node re-checks offsets.
 * - Fail fast: a command issued while disconnected or not answered within the command timeout
 *   rejects with `TIDINGS_ERR_UNAVAILABLE`; nothing is acknowledged unless the script returned.
 * - After `close()`, every method rejects with `TIDINGS_ERR_STATE` except `unsubscribe` (a no-op)
 *   and `close` (idempotent).
 */
export class RedisBroker implements Broker, HistoryStore {
  readonly #commands: RedisCommands;
  readonly #subscriber: RedisSubscriptions;
  readonly #keys: KeySpace;
  readonly #sharded: boolean;
  readonly #scriptsSpanSlots: boolean;
  readonly #connectTimeoutMs: number;
  readonly #metaTtlMs: number;
  readonly #idempotencyWindowMs: number;
  /** Redis pub/sub channel → Tidings channel, for every channel this node is subscribed to. */
  readonly #channels = new Map<string, string>();
  /** Subscribed channel prefixes → their PSUBSCRIBE listener; `confirmed` once Redis answered. */
  readonly #prefixes = new Map<string, { readonly listener: PubSubListener; confirmed: boolean }>();
  // One listener for all channels: node-redis keeps a set of listeners per channel, so a shared
  // function can never be registered twice for one channel.
  readonly #onMessage = (message: Buffer, pubsubChannel: Buffer) => this.#deliver(message, pubsubChannel);
  /** Per channel, the key names every publish sends, made once (see `#channelKeys`). */
  readonly #keyCache = new Map<string, ChannelKeys>();
  #handler: BrokerEventHandler | undefined;
  #closed = false;

  constructor(options: RedisBrokerOptions) {
    this.#commands = options.commands;
    this.#subscriber = options.subscriber;
    this.#keys = options.keys;
    this.#sharded = options.sharded === true;
    this.#scriptsSpanSlots = options.scriptsSpanSlots === true;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#metaTtlMs = options.metaTtlMs ?? DEFAULT_META_TTL_MS;
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    this.#subscriber.onRestored(() => this.#subscriberRestored());
  }

  /** True while both connections are ready (for `/readyz`). */
  ready(): boolean {
    return !this.#closed && this.#commands.ready && this.#subscriber.ready;
  }

  /**
   * Sets the handler and connects. Rejects with `TIDINGS_ERR_UNAVAILABLE` when Redis is not
   * reachable within the connect timeout (reconnect attempts continue until `close`), and with
   * `TIDINGS_ERR_STATE` if already started or closed.
   */
  async start(handler: BrokerEventHandler): Promise<void> {
    this.#assertOpen('start');
    if (this.#handler !== undefined)
      throw new TidingsError(TidingsErrorCode.State, 'RedisBroker.start: already started');
    this.#handler = handler;
    await Promise.all([this.#commands.open(this.#connectTimeoutMs), this.#subscriber.open(this.#connectTimeoutMs)]);
  }

  /**
   * Subscribes this node to the Redis channels of `channels` (idempotent: one subscription per
   * channel). Rejects with `TIDINGS_ERR_UNAVAILABLE` when Redis does not confirm within the
   * command timeout; those channels are then not subscribed.
   */
  async subscribe(channels: readonly string[]): Promise<void> {
    this.#assertOpen('subscribe');
    const fresh = new Map<string, string>();
    for (const ch of channels) {
      const name = this.#keys.pubsub(ch);
      if (!this.#channels.has(name)) fresh.set(name, ch);
    }
    if (fresh.size === 0) return;
    for (const [name, ch] of fresh) this.#channels.set(name, ch);
    const names = [...fresh.keys()];
    try {
      await this.#subscriber.subscribe(names, this.#onMessage);
    } catch (err) {
      for (const name of names) this.#channels.delete(name);
      throw err;
    }
  }

  /**
   * Stops delivery of these channels at once (idempotent; a no-op after close). Resolves even
   * when Redis does not confirm: the listener is gone locally, so nothing is delivered or
   * resubscribed, and a server-side leftover ends with the connection.
   */
  async unsubscribe(channels: readonly string[]): Promise<void> {
    const names = channels.map((ch) => this.#keys.pubsub(ch)).filter((name) => this.#channels.delete(name));
    if (names.length === 0 || this.#closed) return;
    await this.#subscriber.unsubscribe(names, this.#onMessage);
  }

  /** False with sharded pub/sub: SSUBSCRIBE has no patterns, and PSUBSCRIBE never sees SPUBLISH. */
  prefixesAvailable(): boolean {
    return !this.#sharded && this.#subscriber.pSubscribe !== undefined;
  }

  /**
   * PSUBSCRIBEs one glob per prefix on the subscriber connection: `<prefix>{<literal>*`, with the
   * glob metacharacters of the literal escaped, which matches the pub/sub channel of every
   * channel starting with it (see `KeySpace`). A publication matched by several prefixes is
   * delivered once, by the shortest confirmed one. Rejects with `TIDINGS_ERR_UNAVAILABLE` when
   * pub/sub is sharded or Redis does not confirm.
   */
  async subscribePrefixes(prefixes: readonly string[]): Promise<void> {
    this.#assertOpen('subscribePrefixes');
    const pSubscribe = this.#subscriber.pSubscribe;
    if (!this.prefixesAvailable() || pSubscribe === undefined) {
      throw new TidingsError(TidingsErrorCode.Unavailable, 'RedisBroker: sharded pub/sub has no pattern subscriptions');
    }
    for (const prefix of prefixes) {
      if (this.#prefixes.has(prefix)) continue;
      const entry = {
        listener: ((message: Buffer, pubsubChannel: Buffer) =>
          this.#deliverPrefix(prefix, message, pubsubChannel)) as PubSubListener,
        confirmed: false,
      };
      this.#prefixes.set(prefix, entry);
      try {
        await pSubscribe.call(this.#subscriber, [this.#keys.pubsubPattern(prefix)], entry.listener);
        entry.confirmed = true;
      } catch (err) {
        if (this.#prefixes.get(prefix) === entry) this.#prefixes.delete(prefix);
        throw err;
      }
    }
  }

  /** Stops these prefixes at once (idempotent; a no-op after close). */
  async unsubscribePrefixes(prefixes: readonly string[]): Promise<void> {
    for (const prefix of prefixes) {
      const entry = this.#prefixes.get(prefix);
      if (entry === undefined) continue;
      this.#prefixes.delete(prefix);
      if (!this.#closed) await this.#subscriber.pUnsubscribe?.([this.#keys.pubsubPattern(prefix)], entry.listener);
    }
  }

  /** Channels with stream metadata under `prefix` (SCAN MATCH on the meta keys), at most `limit`. */
  async channels(prefix: string, limit: number): Promise<string[]> {
    this.#assertOpen('channels');
    const found = new Set<string>();
    let cursor = '0';
    const match = this.#keys.metaPattern(prefix);
    do {
      const reply = await this.#commands.command(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000']);
      const [next, keys] = asArray(reply, 2);
      cursor = asText(next);
      for (const key of asArray(keys)) {
        const channel = this.#keys.channelOfMeta(asText(key));
        if (channel?.startsWith(prefix)) found.add(channel);
        if (found.size >= limit) return [...found];
      }
    } while (cursor !== '0');
    return [...found];
  }

  /** Runs the publish script; resolves with the stored position, or the first one for a repeated key. */
  async publish(channel: string, data: Uint8Array, options: BrokerPublishOptions = {}): Promise<BrokerPublishResult> {
    this.#assertOpen('publish');
    const { keys, args } = this.#publishArgs(channel, data, options);
    const reply = await this.#commands.eval(PUBLISH_SCRIPT, keys, [...args, this.#sharded ? '1' : '0']);
    return publishResult(reply);
  }

  /**
   * Publishes `items` in order with one script call per group (`PUBLISH_MANY_SCRIPT`): one group
   * on a standalone Redis, one per channel on a cluster (a script's keys must share a slot).
   * Groups are sent in the same tick, so node-redis writes them together (one round trip per
   * shard). Items of one channel are in one group, so their order is kept; a failed call fails
   * only the items of its group (they were not acknowledged, they may or may not be stored).
   */
  async publishMany(items: readonly BrokerPublishItem[]): Promise<BrokerPublishOutcome[]> {
    this.#assertOpen('publishMany');
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => {
      const group = this.#scriptsSpanSlots ? '' : item.channel;
      const members = groups.get(group);
      if (members === undefined) groups.set(group, [i]);
      else members.push(i);
    });
    const outcomes = new Array<BrokerPublishOutcome>(items.length);
    await Promise.all(
      [...groups.values()].map(async (members) => {
        const { keys, args } = this.#publishManyArgs(items, members);
        try {
          const replies = asArray(await this.#commands.eval(PUBLISH_MANY_SCRIPT, keys, args), members.length * 3);
          members.forEach((i, j) => {
            outcomes[i] = { ok: true, result: publishResultOf(replies[j * 3], replies[j * 3 + 1], replies[j * 3 + 2]) };
          });
        } catch (error) {
          for (const i of members) outcomes[i] = { ok: false, error };
        }
      }),
    );
    return outcomes;
  }

  /**
   * Keys and arguments of one `PUBLISH_MANY_SCRIPT` call for `items[members]`: each channel and
   * each distinct retention setting once, then four arguments per item (see the script).
   */
  #publishManyArgs(
    items: readonly BrokerPublishItem[],
    members: readonly number[],
  ): { keys: string[]; args: Array<string | Buffer> } {
    const channelKeys: string[] = [];
    const idempotencyKeys: string[] = [];
    const pubsub: string[] = [];
    const channelIndex = new Map<string, number>();
    // [size, ttl, metaTtl, window] per profile; a batch rarely has more than one or two.
    const profiles: number[][] = [];
    const itemArgs: Array<string | Buffer> = [];
    for (const i of members) {
      const item = items[i] as BrokerPublishItem;
      const options = item.options ?? {};
      let c = channelIndex.get(item.channel);
      if (c === undefined) {
        const names = this.#channelKeys(item.channel);
        channelKeys.push(names.meta, names.history);
        pubsub.push(names.pubsub);
        c = channelIndex.size + 1;
        channelIndex.set(item.channel, c);
      }
      const retention = options.history;
      const size = retention === undefined ? 0 : Math.max(0, Math.floor(retention.size));
      const ttlMs = retention === undefined ? 0 : Math.max(0, Math.ceil(retention.ttlMs));
      const metaTtlMs =
        retention?.metaTtlMs !== undefined && retention.metaTtlMs > 0
          ? Math.ceil(retention.metaTtlMs)
          : this.#metaTtlMs;
      const key = options.idempotencyKey;
      const windowMs =
        key === undefined ? 0 : Math.max(0, Math.ceil(options.idempotencyWindowMs ?? this.#idempotencyWindowMs));
      let p = profiles.findIndex((q) => q[0] === size && q[1] === ttlMs && q[2] === metaTtlMs && q[3] === windowMs);
      if (p < 0) p = profiles.push([size, ttlMs, metaTtlMs, windowMs]) - 1;
      let k = 0;
      if (key !== undefined) k = idempotencyKeys.push(this.#keys.idempotency(item.channel, key));
      const body = encodePublicationBody({ data: item.data, info: options.info, tags: options.tags });
      itemArgs.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength), small(c), small(p + 1), small(k));
    }
    const args: Array<string | Buffer> = [
      this.#sharded ? '1' : '0',
      newEpoch(),
      small(pubsub.length),
      small(profiles.length),
      ...pubsub,
    ];
    for (const q of profiles) for (const v of q) args.push(String(v));
    for (const a of itemArgs) args.push(a);
    return { keys: channelKeys.concat(idempotencyKeys), args };
  }

  /** Keys and arguments of one publication, as `PUBLISH_SCRIPT` takes them (without the sharded flag). */
  #publishArgs(
    channel: string,
    data: Uint8Array,
    options: BrokerPublishOptions,
  ): { keys: string[]; args: Array<string | Buffer> } {
    const retention = options.history;
    const size = retention === undefined ? 0 : Math.max(0, Math.floor(retention.size));
    const ttlMs = retention === undefined ? 0 : Math.max(0, Math.ceil(retention.ttlMs));
    const metaTtlMs =
      retention?.metaTtlMs !== undefined && retention.metaTtlMs > 0 ? Math.ceil(retention.metaTtlMs) : this.#metaTtlMs;
    const key = options.idempotencyKey;
    const windowMs = key === undefined ? 0 : Math.ceil(options.idempotencyWindowMs ?? this.#idempotencyWindowMs);
    const body = encodePublicationBody({ data, info: options.info, tags: options.tags });
    const names = this.#channelKeys(channel);
    return {
      keys: [names.meta, names.history, key === undefined ? names.noIdempotency : this.#keys.idempotency(channel, key)],
      args: [
        Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        String(size),
        String(ttlMs),
        String(metaTtlMs),
        newEpoch(),
        String(Math.max(0, windowMs)),
        names.pubsub,
      ],
    };
  }

  /**
   * The key names of `channel` a publish sends. Cached because building them is four string
   * concatenations per publish that live until Redis answers (the Redis batch profile showed them
   * surviving young-generation collections and being flattened again for every command); the
   * cache is emptied when it reaches `keyCacheSize` channels, which bounds it.
   */
  #channelKeys(channel: string): ChannelKeys {
    let names = this.#keyCache.get(channel);
    if (names === undefined) {
      if (this.#keyCache.size >= keyCacheSize) this.#keyCache.clear();
      names = {
        meta: this.#keys.meta(channel),
        history: this.#keys.history(channel),
        noIdempotency: this.#keys.idempotency(channel, ''),
        pubsub: this.#keys.pubsub(channel),
      };
      this.#keyCache.set(channel, names);
    }
    return names;
  }

  /** Sends a join to every node subscribed to `channel`. */
  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    await this.#publishPresenceEvent('publishJoin', 'j', channel, info);
  }

  /** Sends a leave to every node subscribed to `channel`. */
  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    await this.#publishPresenceEvent('publishLeave', 'l', channel, info);
  }

  /** Reads history per the `HistoryStore` contract, atomically with the top position. */
  async history(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    this.#assertOpen('history');
    const since = query.since?.offset;
    const after = since !== undefined && Number.isFinite(since) ? Math.max(0, Math.floor(since)) : 0;
    const limit = Number.isFinite(query.limit) ? Math.floor(query.limit) : -1;
    const reply = await this.#commands.eval(
      HISTORY_SCRIPT,
      [this.#keys.meta(channel), this.#keys.history(channel)],
      [newEpoch(), String(this.#metaTtlMs), query.reverse === true ? '1' : '0', `${after + 1}-0`, String(limit)],
    );
    const [top, epoch, entries] = asArray(reply, 3);
    return { offset: asNumber(top), epoch: asText(epoch), publications: asArray(entries).map(decodeEntry) };
  }

  /** Deletes the stored publications of `channel`; the meta (top offset, epoch) stays. */
  async removeHistory(channel: string): Promise<void> {
    this.#assertOpen('removeHistory');
    await this.#commands.command(['DEL', this.#keys.history(channel)]);
  }

  /** Forgets the handler and closes both connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    this.#channels.clear();
    this.#prefixes.clear();
    this.#subscriber.close();
    this.#commands.close();
  }

  async #publishPresenceEvent(method: string, kind: 'j' | 'l', channel: string, info: ClientInfo): Promise<void> {
    this.#assertOpen(method);
    const message = Buffer.concat([Buffer.from(kind), encodeClientInfo(info)]);
    const name = this.#keys.pubsub(channel);
    await this.#commands.command([this.#sharded ? 'SPUBLISH' : 'PUBLISH', name, message], name);
  }

  #deliver(message: Buffer, pubsubChannel: Buffer): void {
    const handler = this.#handler;
    const channel = this.#channels.get(pubsubChannel.toString());
    if (handler === undefined || channel === undefined) return;
    try {
      switch (message[0]) {
        case MessageKind.Publication: {
          const { pub, epoch } = decodePublicationMessage(message);
          handler.onPublication(channel, pub, epoch);
          break;
        }
        case MessageKind.Publications:
          decodePublicationRun(message, (pub, epoch) => handler.onPublication(channel, pub, epoch));
          break;
        case MessageKind.Join:
          handler.onJoin(channel, decodeClientInfo(message.subarray(1)));
          break;
        case MessageKind.Leave:
          handler.onLeave(channel, decodeClientInfo(message.subarray(1)));
          break;
      }
    } catch (err) {
      // A handler or decoding failure must surface, but not break the subscriber connection.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #deliverPrefix(prefix: string, message: Buffer, pubsubChannel: Buffer): void {
    const handler = this.#handler;
    const kind = message[0];
    if (handler === undefined || (kind !== MessageKind.Publication && kind !== MessageKind.Publications)) return;
    const channel = this.#keys.channelOfPubsub(pubsubChannel.toString());
    if (channel === undefined || !channel.startsWith(prefix)) return;
    for (const [other, entry] of this.#prefixes) {
      // A shorter confirmed prefix matches too: that one delivers it.
      if (entry.confirmed && other.length < prefix.length && channel.startsWith(other)) return;
    }
    try {
      if (kind === MessageKind.Publications)
        decodePublicationRun(message, (pub, epoch) => handler.onPrefixPublication?.(channel, pub, epoch));
      else {
        const { pub, epoch } = decodePublicationMessage(message);
        handler.onPrefixPublication?.(channel, pub, epoch);
      }
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #subscriberRestored(): void {
    if (this.#closed) return;
    if (this.#prefixes.size > 0) this.#handler?.onPrefixDiscontinuity?.();
    // node-redis resubscribes by itself; what was published meanwhile was not delivered.
    const channels = [...new Set(this.#channels.values())];
    if (channels.length > 0) this.#handler?.onDiscontinuity?.(channels);
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `RedisBroker.${method}: broker is closed`);
  }
}

/** `{suppressed, offset, epoch}` of a publish script → the broker's result. */
function publishResult(reply: Reply): BrokerPublishResult {
  const [suppressed, offset, epoch] = asArray(reply, 3);
  return publishResultOf(suppressed, offset, epoch);
}

function publishResultOf(suppressed: Reply | undefined, offset: Reply | undefined, epoch: Reply | undefined) {
  const result = { offset: asNumber(offset), epoch: asText(epoch) };
  return asNumber(suppressed) === 1 ? { ...result, suppressed: true } : result;
}

/** Decimal strings of small indexes, made once (a batch sends three per item). */
const smallNumbers = Array.from({ length: 1024 }, (_, i) => String(i));
function small(n: number): string {
  return smallNumbers[n] ?? String(n);
}

// Random bytes for epoch candidates, drawn 512 at a time: every publish sends one candidate
// (the script keeps it only for a channel without an epoch), and one `randomBytes(6)` call per
// publish was 6% of the server's CPU in Redis batches (node --cpu-prof, bench/RESULTS.md).
const epochBytes = 6;
let epochPool = Buffer.alloc(0);
let epochAt = 0;

/** The key names a publish to one channel sends (`RedisBroker.#channelKeys`). */
interface ChannelKeys {
  readonly meta: string;
  readonly history: string;
  /** The idempotency key slot of a publish without an idempotency key (never read by the script). */
  readonly noIdempotency: string;
  readonly pubsub: string;
}

/** Channels whose key names `RedisBroker` keeps at most. */
const keyCacheSize = 10_000;

/** A short random url-safe epoch (48 bits, 8 characters), as the memory engine's. */
function newEpoch(): string {
  if (epochAt + epochBytes > epochPool.length) {
    epochPool = randomBytes(epochBytes * 512);
    epochAt = 0;
  }
  const epoch = epochPool.toString('base64url', epochAt, epochAt + epochBytes);
  epochAt += epochBytes;
  return epoch;
}
