import { randomUUID } from 'node:crypto';
import {
  type ClientInfo,
  clientError,
  type Disconnect,
  DisconnectCode,
  disconnectOf,
  ErrorCode,
  isTidingsError,
  TidingsError,
  TidingsErrorCode,
} from '@tidings/protocol';
import type { Authenticator } from '../auth/types.js';
import type {
  Broker,
  BrokerPublishItem,
  BrokerPublishOptions,
  BrokerPublishOutcome,
  BrokerPublishResult,
  HistoryQuery,
  HistoryReadResult,
  HistoryStore,
  PresenceStats,
  PresenceStore,
  StateEntry,
  StateStore,
} from '../broker/types.js';
import { type Clock, systemClock } from '../internal/clock.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import type { EngineOperation, MetricsSink } from '../observability/metrics.js';
import type { TraceHooks } from '../observability/tracing.js';
import type { SessionContext, Transport } from '../transport/types.js';
import { ChannelRules, type ChannelsOptions, type NamespaceOptions, reservedNamespace } from './channel-options.js';
import { FlushMeter } from './flush-meter.js';
import { FlushScheduler } from './flush-scheduler.js';
import type { TidingsHooks } from './hooks.js';
import { Hub, type HubPatternSubscriber } from './hub.js';
import type { NodeContext, NodePublishItem, NodePublishOptions } from './node-context.js';
import { NodeRegistry, nodesChannel } from './node-registry.js';
import { type ClientOptions, resolveClientOptions } from './options.js';
import { channelLevels, PatternIndex, patternPrefix, patternRefusal } from './pattern-index.js';
import { type PatternSubscription, PatternSubscriptions } from './pattern-subscriptions.js';
import { Session } from './session.js';
import type { SharedRateCounter } from './shared-rate.js';
import { StatePublisher } from './state-channel.js';

/** Options of `createNode`. Plain objects; validated and frozen once. */
export interface NodeOptions {
  readonly broker: Broker;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  readonly authenticator: Authenticator;
  /** Application hooks (connect, subscribe, publish, RPC, refresh, disconnect); see `TidingsHooks`. */
  readonly hooks?: TidingsHooks;
  readonly channels?: ChannelsOptions;
  readonly client?: Partial<ClientOptions>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Node name in logs and `/api/info`; defaults to a random id. */
  readonly name?: string;
  readonly version?: string;
  /** Window in which a repeated idempotency key is suppressed. */
  readonly idempotencyWindowMs?: number;
  /**
   * Where the node reports publications, deliveries, disconnects, recoveries and engine round
   * trips (see `MetricsSink`). Absent (default): nothing is measured.
   */
  readonly metrics?: MetricsSink;
  /**
   * Where the node opens trace spans: engine publish and fan-out (see `TraceHooks`). Absent
   * (default): no tracing. Publications of the reserved namespace (the canary) are not traced.
   */
  readonly tracing?: TraceHooks;
  /**
   * How often the node announces itself to the other nodes on its engine (for `nodes()` and
   * `/api/info`); a node unheard for three intervals is dropped. Default 5000.
   */
  readonly announceIntervalMs?: number;
  /**
   * Counters shared by every node on the engine (the Redis engine provides one): per-user and
   * per-IP limits then hold cluster-wide (see `SharedWindowLimiter`). Absent: each node enforces
   * them alone.
   */
  readonly rateCounter?: SharedRateCounter;
  /**
   * Where state channels (namespaces with `state: true`) keep their latest documents; every
   * engine provides one (`engine.state`). Required when a namespace is a state channel.
   */
  readonly state?: StateStore;
}

/** Sessions of one transport and codec, as `TidingsNode.sessionStats` reports them. */
export interface SessionStats {
  readonly transport: string;
  readonly codec: string;
  readonly connections: number;
  readonly subscriptions: number;
  /** Outbound bytes queued in writers plus not yet flushed by transports. */
  readonly queuedBytes: number;
}

/** Node statistics, as `/api/info` reports them. */
export interface NodeInfo {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly numClients: number;
  readonly numUsers: number;
  readonly numSubs: number;
  readonly numChannels: number;
}

interface BrokerChannelState {
  subscribed: boolean;
  op: Promise<void>;
}

/**
 * A Tidings node: sessions, the channel index and the engine behind them.
 *
 * Contract: `publish` resolves only after the broker stored the publication (its position is
 * returned); when the broker cannot store it rejects with `TIDINGS_ERR_UNAVAILABLE`. Channel
 * names are validated before anything reaches the broker. `shutdown` disconnects every session
 * with 3001 and then closes the broker; it is idempotent.
 */
export class TidingsNode {
  readonly id: string = randomUUID();
  readonly name: string;
  readonly version: string;
  readonly rules: ChannelRules;
  readonly #ctx: NodeContext;
  readonly #broker: Broker;
  readonly #historyStore: HistoryStore;
  readonly #presence: PresenceStore;
  readonly #stateStore: StateStore | undefined;
  readonly #statePublisher: StatePublisher | undefined;
  readonly #hub = new Hub();
  readonly #brokerChannels = new Map<string, BrokerChannelState>();
  readonly #patterns: PatternSubscriptions;
  readonly #idempotencyWindowMs: number;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #metrics: MetricsSink | undefined;
  readonly #tracing: TraceHooks | undefined;
  readonly #registry: NodeRegistry;
  // False until the broker confirmed the announcements channel; retried with every announcement.
  #hearingNodes = false;
  #startedAt = 0;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(options: NodeOptions) {
    this.rules = new ChannelRules(options.channels);
    this.name = options.name ?? this.id.slice(0, 8);
    this.version = options.version ?? '0.1.0';
    this.#broker = options.broker;
    this.#historyStore = options.history;
    this.#presence = options.presence;
    this.#stateStore = options.state;
    this.#patterns = new PatternSubscriptions(this.#hub, this.#broker);
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#idempotencyWindowMs = options.idempotencyWindowMs ?? 5 * 60_000;
    this.#metrics = options.metrics;
    this.#tracing = options.tracing;
    this.#statePublisher =
      options.state === undefined ? undefined : new StatePublisher(options.state, () => this.#clock.now());
    if (options.state === undefined) {
      const stateful = this.rules.allNamespaces().find(([, ns]) => ns.state);
      if (stateful !== undefined) {
        const path = stateful[0] === '' ? 'channels.defaults' : `channels.namespaces.${stateful[0]}`;
        throw new TidingsError(
          TidingsErrorCode.Config,
          `${path}.state: a state channel needs NodeOptions.state (the engine's state store)`,
        );
      }
    }
    const meter = options.metrics === undefined ? undefined : new FlushMeter(options.metrics, this.#clock);
    const client = resolveClientOptions(options.client);
    const announceIntervalMs = options.announceIntervalMs ?? 5_000;
    if (!Number.isFinite(announceIntervalMs) || announceIntervalMs <= 0) {
      throw new TidingsError(TidingsErrorCode.Config, 'announceIntervalMs: expected a positive number');
    }
    this.#registry = new NodeRegistry({
      self: () => this.info(),
      publish: async (data) => {
        if (!this.#hearingNodes) await this.#listenToNodes();
        return this.#broker.publish(nodesChannel, data, {
          history: { size: 0, ttlMs: 0, metaTtlMs: 3 * announceIntervalMs },
        });
      },
      clock: this.#clock,
      intervalMs: announceIntervalMs,
      logger: this.#logger,
    });
    this.#ctx = {
      nodeId: this.id,
      nodeName: this.name,
      version: this.version,
      hub: this.#hub,
      rules: this.rules,
      client,
      clock: this.#clock,
      scheduler: new FlushScheduler({ delayMs: client.writeDelayMs, clock: this.#clock, meter }),
      logger: this.#logger,
      metrics: this.#metrics,
      authenticator: options.authenticator,
      hooks: Object.freeze({ ...options.hooks }),
      presenceStore: options.presence,
      rateCounter: options.rateCounter,
      ensureChannel: (channel) => this.#ensureChannel(channel),
      releaseChannel: (channel) => this.#releaseChannel(channel),
      publish: (channel, data, opts) => this.publish(channel, data, opts),
      publishJoin: (channel, info) => this.#broker.publishJoin(channel, info),
      publishLeave: (channel, info) => this.#broker.publishLeave(channel, info),
      readHistory: (channel, query) => this.#readHistory(channel, query),
      history: (channel, query) => this.history(channel, query),
      presence: (channel) => this.presence(channel),
      presenceStats: (channel) => this.presenceStats(channel),
      readState: (channel) => this.#readState(channel),
    };
  }

  /** Connects the broker. Must resolve before sessions are opened. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new TidingsError(TidingsErrorCode.State, 'node.start() was already called');
    const hub = this.#hub;
    const registry = this.#registry;
    const tracing = this.#tracing;
    await this.#broker.start({
      // The handler is chosen once: without tracing the fan-out pays no per-publication check.
      onPublication:
        tracing === undefined
          ? (channel, pub, epoch) =>
              channel === nodesChannel ? registry.received(pub.data) : hub.broadcastPublication(channel, pub, epoch)
          : (channel, pub, epoch) => {
              if (channel === nodesChannel) registry.received(pub.data);
              else if (channel.startsWith(reservedPrefix)) hub.broadcastPublication(channel, pub, epoch);
              else {
                tracing.spanSync(
                  'tidings.fanout',
                  { 'messaging.destination.name': channel, 'tidings.offset': pub.offset },
                  () => hub.broadcastPublication(channel, pub, epoch),
                );
              }
            },
      onJoin: (channel, info) => hub.broadcastJoin(channel, info),
      onLeave: (channel, info) => hub.broadcastLeave(channel, info),
      onDiscontinuity: (channels) => void this.#checkPositions(channels),
      onPrefixPublication: (channel, pub, epoch) => {
        // The node announcements and the canary are internal, whatever prefix matched them.
        if (channel !== nodesChannel && !channel.startsWith(reservedPrefix)) {
          hub.broadcastPatternPublication(channel, pub, epoch);
        }
      },
      onPrefixDiscontinuity: () => hub.patternDiscontinuity(),
    });
    this.#startedAt = this.#clock.now();
    this.#state = 'running';
    try {
      await this.#listenToNodes();
    } catch (error) {
      this.#logger.warn({ err: String(error) }, 'cannot hear other nodes yet; retrying with every announcement');
    }
    registry.start();
    this.#logger.info({ node: this.name }, 'node started');
  }

  /** True while the node accepts sessions and its engine is reachable. */
  ready(): boolean {
    return this.#state === 'running' && (this.#broker.ready?.() ?? true);
  }

  /** Open a session over `transport`; the transport feeds it frames and tells it when it closes. */
  openSession(transport: Transport, context: SessionContext = {}): Session {
    const session = new Session(this.#ctx, transport, context);
    if (this.#state !== 'running') session.close(disconnectOf(DisconnectCode.Shutdown));
    return session;
  }

  async publish(channel: string, data: Uint8Array, options: NodePublishOptions = {}): Promise<BrokerPublishResult> {
    const { namespace, options: ns } = this.rules.resolve(channel);
    if (namespace === reservedNamespace && options.source !== 'canary') throw clientError(ErrorCode.PermissionDenied);
    this.#assertRunning();
    const send = (body: Uint8Array, tags: Readonly<Record<string, string>> | undefined) =>
      this.#broker.publish(channel, body, this.#brokerOptions(ns, options, tags));
    try {
      const publisher = ns.state ? this.#statePublisher : undefined;
      const append = () =>
        publisher !== undefined
          ? publisher.publish(channel, data, options.tags, ns, (step) => send(step.data, step.tags))
          : send(data, options.tags);
      // Without tracing this is main's path; the canary is never traced.
      const tracing = namespace === reservedNamespace ? undefined : this.#tracing;
      const result =
        tracing === undefined
          ? await this.#timed('publish', append)
          : await tracing.span(
              'tidings.engine.publish',
              { 'messaging.destination.name': channel, 'tidings.source': options.source ?? 'api' },
              () => this.#timed('publish', append),
            );
      if (result.suppressed !== true) this.#metrics?.published(options.source ?? 'api');
      return result;
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /**
   * Publishes several publications, in order, as `publish` would one after another, but in one
   * engine round trip per shard when the broker has `publishMany` (see `Broker.publishMany`).
   * Resolves with one outcome per item; an item's failure (permission, engine unavailable) is its
   * outcome, never a rejection. Falls back to sequential `publish` when the broker has no
   * `publishMany` or an item is on a state channel (whose publish reads before it writes).
   */
  async publishMany(items: readonly NodePublishItem[]): Promise<BrokerPublishOutcome[]> {
    const batchPublish = this.#broker.publishMany;
    const resolved = items.map((item) => {
      try {
        return { item, ns: this.rules.resolve(item.channel) };
      } catch (error) {
        return { item, error };
      }
    });
    if (batchPublish === undefined || resolved.some((r) => r.ns?.options.state === true)) {
      const out: BrokerPublishOutcome[] = [];
      for (const { channel, data, options } of items) {
        try {
          out.push({ ok: true, result: await this.publish(channel, data, options) });
        } catch (error) {
          out.push({ ok: false, error });
        }
      }
      return out;
    }
    this.#assertRunning();
    const outcomes = new Array<BrokerPublishOutcome>(items.length);
    const sent: BrokerPublishItem[] = [];
    const sentIndex: number[] = [];
    resolved.forEach(({ item, ns, error }, i) => {
      const options = item.options ?? {};
      if (ns === undefined) {
        outcomes[i] = { ok: false, error };
        return;
      }
      if (ns.namespace === reservedNamespace && options.source !== 'canary') {
        outcomes[i] = { ok: false, error: clientError(ErrorCode.PermissionDenied) };
        return;
      }
      sent.push({
        channel: item.channel,
        data: item.data,
        options: this.#brokerOptions(ns.options, options, options.tags),
      });
      sentIndex.push(i);
    });
    if (sent.length > 0) {
      let results: BrokerPublishOutcome[];
      try {
        const call = () => this.#timed('publish', () => batchPublish.call(this.#broker, sent));
        // One span for the batch's engine call, as publish opens one per engine call.
        const tracing = sent.every((item) => item.channel.startsWith(reservedPrefix)) ? undefined : this.#tracing;
        results =
          tracing === undefined
            ? await call()
            : await tracing.span(
                'tidings.engine.publish',
                {
                  'messaging.destination.name': sent[0]?.channel ?? '',
                  'messaging.batch.message_count': sent.length,
                  'tidings.source': 'api',
                },
                call,
              );
      } catch (error) {
        results = sent.map(() => ({ ok: false, error }));
      }
      results.forEach((outcome, j) => {
        const i = sentIndex[j] as number;
        if (outcome.ok) {
          if (outcome.result.suppressed !== true) this.#metrics?.published(items[i]?.options?.source ?? 'api');
          outcomes[i] = outcome;
        } else outcomes[i] = { ok: false, error: asUnavailable(outcome.error) };
      });
    }
    return outcomes;
  }

  #brokerOptions(
    ns: NamespaceOptions,
    options: NodePublishOptions,
    tags: Readonly<Record<string, string>> | undefined,
  ): BrokerPublishOptions {
    return {
      history: {
        size: options.skipHistory ? 0 : ns.historySize,
        ttlMs: options.skipHistory ? 0 : ns.historyTtlMs,
        metaTtlMs: ns.historyMetaTtlMs,
      },
      ...(options.info !== undefined ? { info: options.info } : {}),
      ...(tags !== undefined ? { tags } : {}),
      ...(options.idempotencyKey !== undefined
        ? { idempotencyKey: options.idempotencyKey, idempotencyWindowMs: this.#idempotencyWindowMs }
        : {}),
    };
  }

  /**
   * The latest documents of a state channel (every key, by offset), or of one key; wire 108 when
   * the namespace is not a state channel.
   */
  async state(channel: string, key?: string): Promise<StateEntry[]> {
    const { options } = this.rules.resolve(channel);
    if (!options.state || this.#stateStore === undefined) throw clientError(ErrorCode.NotAvailable);
    const store = this.#stateStore;
    try {
      if (key === undefined) return await store.snapshot(channel);
      const entry = await store.get(channel, key);
      return entry === undefined ? [] : [entry];
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  #readState(channel: string): Promise<StateEntry[]> {
    const store = this.#stateStore;
    if (store === undefined) return Promise.resolve([]);
    return store.snapshot(channel);
  }

  /**
   * A channel's history. Rejects with wire 108 when the namespace keeps no history and with 112
   * (unrecoverable position) when `since` is from another epoch or older than what is retained.
   */
  async history(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    const { options } = this.rules.resolve(channel);
    if (options.historySize <= 0 || options.historyTtlMs <= 0) throw clientError(ErrorCode.NotAvailable);
    const read = await this.#readHistory(channel, query);
    const since = query.since;
    if (since !== undefined) {
      if (since.epoch !== read.epoch || since.offset > read.offset) throw clientError(ErrorCode.UnrecoverablePosition);
      const first = read.publications[0];
      if (!query.reverse && first !== undefined && first.offset !== since.offset + 1) {
        throw clientError(ErrorCode.UnrecoverablePosition);
      }
    }
    return read;
  }

  async removeHistory(channel: string): Promise<void> {
    this.rules.resolve(channel);
    await this.#historyStore.removeHistory(channel);
  }

  async presence(channel: string): Promise<Record<string, ClientInfo>> {
    const { options } = this.rules.resolve(channel);
    if (!options.presence) throw clientError(ErrorCode.NotAvailable);
    return this.#timed('presence', () => this.#presence.get(channel));
  }

  async presenceStats(channel: string): Promise<PresenceStats> {
    const { options } = this.rules.resolve(channel);
    if (!options.presence) throw clientError(ErrorCode.NotAvailable);
    return this.#timed('presence_stats', () => this.#presence.stats(channel));
  }

  /** True when the engine can serve wildcard subscriptions (`subscribePattern`). */
  get patternsAvailable(): boolean {
    return this.#patterns.available;
  }

  /**
   * Subscribes `subscriber` to every channel matched by a wildcard pattern, given as channel
   * levels (see `channelLevels`; `+` one level, `#` the parent and everything below, MQTT's
   * rules). Publications reach `subscriber.deliverPatternPublication` once each, live only:
   * permissions of each matched channel are the caller's to check. Rejects with wire 107 for a
   * malformed pattern and 108 when the engine cannot serve patterns.
   */
  async subscribePattern(levels: readonly string[], subscriber: HubPatternSubscriber): Promise<PatternSubscription> {
    this.#assertRunning();
    try {
      return await this.#patterns.subscribe(levels, subscriber);
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /**
   * Channels of the engine (with a stream) that a wildcard pattern matches, examining at most
   * `limit` names under the pattern's literal prefix; `[]` when the engine cannot list channels.
   */
  async patternChannels(levels: readonly string[], limit: number): Promise<string[]> {
    const store = this.#historyStore;
    if (store.channels === undefined || patternRefusal(levels) !== undefined) return [];
    let names: string[];
    try {
      names = await this.#timed('history', async () => (await store.channels?.(patternPrefix(levels), limit)) ?? []);
    } catch (error) {
      throw asUnavailable(error);
    }
    const index = new PatternIndex<true>();
    index.add(levels, true);
    return names.filter((channel) => {
      const channelLevelList = channelLevels(channel);
      let hit = false;
      if (channelLevelList !== undefined) index.match(channelLevelList, () => (hit = true));
      return hit;
    });
  }

  /** Channels with subscribers on this node; `pattern` is a glob with `*`. */
  channels(pattern?: string): Array<{ channel: string; numClients: number }> {
    const all = this.#hub.channels();
    if (pattern === undefined || pattern === '' || pattern === '*') return all;
    const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    return all.filter((c) => re.test(c.channel));
  }

  info(): NodeInfo {
    return {
      id: this.id,
      name: this.name,
      version: this.version,
      uptimeSeconds: this.#startedAt === 0 ? 0 : Math.floor((this.#clock.now() - this.#startedAt) / 1000),
      numClients: this.#hub.numClients,
      numUsers: this.#hub.numUsers,
      numSubs: this.#hub.numSubs,
      numChannels: this.#hub.numChannels,
    };
  }

  /** Connected sessions grouped by transport and codec (for gauges; walks every session). */
  sessionStats(): SessionStats[] {
    const groups = new Map<
      string,
      { transport: string; codec: string; connections: number; subscriptions: number; queuedBytes: number }
    >();
    for (const hs of this.#hub.allSessions()) {
      const s = hs as Session;
      const transport = s.transport.name;
      const codec = s.codec.name;
      const key = `${transport}/${codec}`;
      let g = groups.get(key);
      if (g === undefined) {
        g = { transport, codec, connections: 0, subscriptions: 0, queuedBytes: 0 };
        groups.set(key, g);
      }
      g.connections++;
      g.subscriptions += s.numSubscriptions;
      g.queuedBytes += s.queuedBytes;
    }
    return [...groups.values()];
  }

  /**
   * Every node on this node's engine that announced itself recently, this one first. With the
   * memory engine (one process) that is this node; with `--workers N` the workers; with Redis or
   * NATS every node sharing it.
   */
  nodes(): NodeInfo[] {
    return this.#registry.nodes();
  }

  /** Disconnect a user's sessions (all, one client, or all but a whitelist of client ids). */
  async disconnectUser(
    userId: string,
    disconnect: Disconnect,
    options: { clientId?: string; sessionId?: string; whitelist?: string[] } = {},
  ): Promise<void> {
    for (const s of this.#userSessions(userId, options.clientId ?? options.sessionId)) {
      if (options.whitelist?.includes(s.id)) continue;
      s.close(disconnect);
    }
  }

  async unsubscribeUser(userId: string, channel: string, options: { clientId?: string } = {}): Promise<void> {
    this.rules.resolve(channel);
    await Promise.all(this.#userSessions(userId, options.clientId).map((s) => s.unsubscribeServer(channel)));
  }

  async subscribeUser(userId: string, channel: string, options: { clientId?: string } = {}): Promise<void> {
    this.rules.resolve(channel);
    await Promise.all(this.#userSessions(userId, options.clientId).map((s) => s.subscribeServer(channel)));
  }

  /** Disconnect every session with 3001 (shutdown), then close the broker, presence and state stores. */
  async shutdown(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#registry.stop();
    for (const s of this.#hub.allSessions()) (s as Session).close(disconnectOf(DisconnectCode.Shutdown));
    await this.#broker.close();
    await this.#presence.close();
    await this.#stateStore?.close();
    this.#state = 'stopped';
    this.#logger.info({ node: this.name }, 'node stopped');
  }

  /** The broker may have missed deliveries for `channels`: check every local subscriber's position. */
  async #checkPositions(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      if (!this.#hub.hasSubscribers(channel)) continue;
      try {
        const top = await this.#readHistory(channel, { limit: 0 });
        for (const s of this.#hub.subscribers(channel)) s.checkPosition(channel, top);
      } catch (error) {
        // The engine is unreachable again; it signals another discontinuity when it is back.
        this.#logger.warn({ channel, err: String(error) }, 'position check after discontinuity failed');
      }
    }
  }

  #userSessions(userId: string, clientId: string | undefined): Session[] {
    const sessions = this.#hub.userSessions(userId) as Session[];
    return clientId === undefined ? sessions : sessions.filter((s) => s.id === clientId);
  }

  async #listenToNodes(): Promise<void> {
    await this.#broker.subscribe([nodesChannel]);
    this.#hearingNodes = true;
  }

  /** Runs one engine round trip, timing it when metrics are on. */
  async #timed<T>(op: EngineOperation, call: () => Promise<T>): Promise<T> {
    const metrics = this.#metrics;
    if (metrics === undefined) return call();
    const started = performance.now();
    try {
      const result = await call();
      metrics.engineCall(op, performance.now() - started, true);
      return result;
    } catch (error) {
      metrics.engineCall(op, performance.now() - started, false);
      throw error;
    }
  }

  async #readHistory(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    try {
      return await this.#timed('history', () => this.#historyStore.history(channel, query));
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  #assertRunning(): void {
    if (this.#state !== 'running') {
      throw new TidingsError(TidingsErrorCode.Unavailable, 'node is not running', {
        wireCode: ErrorCode.Internal,
        temporary: true,
      });
    }
  }

  #ensureChannel(channel: string): Promise<void> {
    let state = this.#brokerChannels.get(channel);
    if (state === undefined) {
      state = { subscribed: false, op: Promise.resolve() };
      this.#brokerChannels.set(channel, state);
    }
    if (!state.subscribed) {
      const s = state;
      s.subscribed = true;
      // Chain after any pending unsubscribe so the broker ends up subscribed.
      s.op = s.op.then(
        () => this.#timed('subscribe', () => this.#broker.subscribe([channel])),
        () => this.#timed('subscribe', () => this.#broker.subscribe([channel])),
      );
      s.op.catch(() => {
        s.subscribed = false;
      });
    }
    return state.op.catch((error: unknown) => {
      throw asUnavailable(error);
    });
  }

  #releaseChannel(channel: string): void {
    const state = this.#brokerChannels.get(channel);
    if (state === undefined || !state.subscribed || this.#hub.hasSubscribers(channel)) return;
    state.subscribed = false;
    const op = state.op.then(
      () => this.#timed('unsubscribe', () => this.#broker.unsubscribe([channel])),
      () => undefined,
    );
    state.op = op;
    op.then(
      () => {
        if (this.#brokerChannels.get(channel) === state && state.op === op && !state.subscribed) {
          this.#brokerChannels.delete(channel);
        }
      },
      (error: unknown) => this.#logger.warn({ channel, err: String(error) }, 'broker unsubscribe failed'),
    );
  }
}

/** Create a node; call `start()` before opening sessions. */
export function createNode(options: NodeOptions): TidingsNode {
  return new TidingsNode(options);
}

const reservedPrefix = `${reservedNamespace}:`;

function asUnavailable(error: unknown): Error {
  if (isTidingsError(error)) return error;
  return new TidingsError(TidingsErrorCode.Unavailable, 'the engine could not complete the request; retry later', {
    wireCode: ErrorCode.Internal,
    temporary: true,
    cause: error,
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
