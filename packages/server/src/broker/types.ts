import type { ClientInfo, Publication, StreamPosition } from '@tidings/protocol';

/** A publication as stored and delivered by a broker: offset and time are always set. */
export type StreamPublication = Publication & { readonly offset: number; readonly time: number };

/** History retention for one publish. `size: 0` keeps no history (offsets still advance). */
export interface HistoryRetention {
  /** Maximum publications kept per channel. */
  readonly size: number;
  /** How long a publication is kept, in ms. */
  readonly ttlMs: number;
  /** How long the channel's stream metadata (top offset, epoch) outlives its last publish, in ms. */
  readonly metaTtlMs?: number;
}

/** Options of `Broker.publish`. */
export interface BrokerPublishOptions {
  readonly history?: HistoryRetention;
  readonly info?: ClientInfo;
  readonly tags?: Readonly<Record<string, string>>;
  /** Publishes with the same key inside `idempotencyWindowMs` return the first result and store nothing. */
  readonly idempotencyKey?: string;
  readonly idempotencyWindowMs?: number;
}

/** What an acknowledged publish returns: the position assigned by the broker. */
export interface BrokerPublishResult extends StreamPosition {
  /** True when the idempotency key matched an earlier publish; nothing new was stored. */
  readonly suppressed?: boolean;
}

/**
 * Receives everything a broker delivers to this node. Called synchronously from the broker's
 * delivery path; handlers must not block.
 */
export interface BrokerEventHandler {
  /** A publication in `channel`, with the epoch of the stream it belongs to. */
  onPublication(channel: string, pub: StreamPublication, epoch: string): void;
  onJoin(channel: string, info: ClientInfo): void;
  onLeave(channel: string, info: ClientInfo): void;
  /**
   * The broker may have missed deliveries for these channels (e.g. reconnect to Redis). The node
   * must re-check each subscriber's position against history. Never called by the memory broker.
   */
  onDiscontinuity?(channels: readonly string[]): void;
  /**
   * A publication delivered because its channel starts with a prefix passed to
   * `subscribePrefixes` — once per publication whatever the number of matching prefixes, and
   * independently of `onPublication` (a channel subscribed both ways arrives on both).
   */
  onPrefixPublication?(channel: string, pub: StreamPublication, epoch: string): void;
  /** The broker may have missed prefix deliveries (e.g. reconnect): pattern subscribers must resync. */
  onPrefixDiscontinuity?(): void;
}

/**
 * Moves publications between nodes and assigns their offsets.
 *
 * Contract: history append and fan-out are one atomic step per channel, so all nodes see one
 * offset → publication mapping (offsets are contiguous within an epoch). Cross-node delivery is
 * at most once; a node finds gaps by offsets. `publish` resolves only once the publication is
 * stored; when the broker is unreachable it rejects with a `TidingsError` of code
 * `TIDINGS_ERR_UNAVAILABLE` instead of acknowledging.
 */
export interface Broker {
  start(handler: BrokerEventHandler): Promise<void>;
  /** Start receiving publications of these channels on this node (idempotent). */
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
  /**
   * Start receiving, through `onPrefixPublication`, the publications of every channel whose name
   * starts with one of these literal prefixes (`''` = every channel); idempotent per prefix.
   * Joins and leaves are not delivered this way. Serves wildcard subscriptions: the node's
   * pattern index filters exactly. Optional: a broker without it cannot serve them.
   */
  subscribePrefixes?(prefixes: readonly string[]): Promise<void>;
  unsubscribePrefixes?(prefixes: readonly string[]): Promise<void>;
  /**
   * False when this instance cannot serve `subscribePrefixes` although its class has it (e.g.
   * Redis with sharded pub/sub). Absent: available exactly when `subscribePrefixes` exists.
   */
  prefixesAvailable?(): boolean;
  publish(channel: string, data: Uint8Array, options?: BrokerPublishOptions): Promise<BrokerPublishResult>;
  publishJoin(channel: string, info: ClientInfo): Promise<void>;
  publishLeave(channel: string, info: ClientInfo): Promise<void>;
  close(): Promise<void>;
  /** False while the broker cannot reach its backend (the node then reports not ready). Absent = always ready. */
  ready?(): boolean;
}

/** Query of `HistoryStore.history`. */
export interface HistoryQuery {
  /** Return publications strictly after this position (its epoch is not checked here). */
  readonly since?: StreamPosition;
  /** Maximum publications returned; `0` returns only the current top position; negative = all. */
  readonly limit: number;
  /** Newest first. */
  readonly reverse?: boolean;
}

/** A history read: publications plus the stream's current top position. */
export interface HistoryReadResult extends StreamPosition {
  readonly publications: readonly StreamPublication[];
}

/**
 * Reads a channel's retained publications.
 *
 * Contract: publications are in offset order (reverse when asked) and contiguous except where
 * retention dropped the oldest; `offset`/`epoch` are the stream top at read time. A channel
 * never published to has offset 0 and a stable epoch. Callers detect gaps by comparing
 * `since.offset + 1` with the first returned offset, and epoch changes by comparing epochs.
 */
export interface HistoryStore {
  history(channel: string, query: HistoryQuery): Promise<HistoryReadResult>;
  removeHistory(channel: string): Promise<void>;
  /**
   * Names of channels that have a stream (top offset and epoch) and start with `prefix`, at most
   * `limit`, in no particular order. Serves the retained messages of wildcard subscriptions.
   * Optional: without it a wildcard subscription gets no retained messages.
   */
  channels?(prefix: string, limit: number): Promise<string[]>;
}

/** Aggregate presence counts. */
export interface PresenceStats {
  readonly numClients: number;
  readonly numUsers: number;
}

/**
 * Who is subscribed to a channel, across nodes. Entries expire after `ttlMs` unless refreshed by
 * calling `add` again.
 */
export interface PresenceStore {
  add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void>;
  remove(channel: string, clientId: string): Promise<void>;
  get(channel: string): Promise<Record<string, ClientInfo>>;
  stats(channel: string): Promise<PresenceStats>;
  close(): Promise<void>;
}

/** One key's latest document in a state channel. */
export interface StateEntry {
  /** The key inside the channel; "" for a channel with a single document. */
  readonly key: string;
  /** The whole document (JSON text as bytes). */
  readonly data: Uint8Array;
  /** Offset of the publication that wrote this document. */
  readonly offset: number;
  /** Epoch of that publication's stream. */
  readonly epoch: string;
  /** Milliseconds since the Unix epoch when it was written. */
  readonly time: number;
}

/**
 * Latest document per (channel, key) of state channels, shared by every node of the engine.
 *
 * Contract: `put` stores the entry unless the stored one for that key has the same epoch and an
 * offset not lower (so publications written out of order leave the newest one); it resolves
 * with whether it stored. An entry of another epoch replaces the stored one (the stream was
 * reset). A channel's entries expire together `ttlMs` after its last `put` (0 = never).
 * `snapshot` returns every key of the channel, sorted by offset. Rejects with
 * `TIDINGS_ERR_UNAVAILABLE` when the backend cannot be reached.
 */
export interface StateStore {
  put(channel: string, entry: StateEntry, ttlMs: number): Promise<boolean>;
  get(channel: string, key: string): Promise<StateEntry | undefined>;
  snapshot(channel: string): Promise<StateEntry[]>;
  /** Removes one key, or the whole channel when `key` is undefined. */
  remove(channel: string, key?: string): Promise<void>;
  close(): Promise<void>;
}
