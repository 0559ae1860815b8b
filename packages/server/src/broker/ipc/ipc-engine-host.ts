import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type {
  Broker,
  BrokerPublishItem,
  BrokerPublishOutcome,
  HistoryQuery,
  HistoryStore,
  PresenceStore,
  StateStore,
} from '../types.js';
import { errorReply, type IpcMessage, type IpcPort, type IpcRequest, outcomeReply } from './messages.js';

/** The engine an `IpcEngineHost` serves: one broker, history and presence for every worker. */
export interface IpcHostedEngine {
  readonly broker: Broker;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  /** State channels' documents; without it, the workers' state requests fail (`TIDINGS_ERR_STATE`). */
  readonly state?: StateStore;
}

/** One worker attached to a host. */
export interface IpcAttachment {
  /** Forgets the worker: its channels are released, nothing more is sent to it (idempotent). */
  detach(): void;
}

interface Worker {
  readonly port: IpcPort;
  readonly channels: Set<string>;
  attached: boolean;
  /** Set while the port's backlog is past its bound: deliveries are held back, not queued. */
  missed: Set<string> | undefined;
  /** Prefixes this worker subscribed (see `Broker.subscribePrefixes`). */
  readonly prefixes: Set<string>;
  /** Set while held back: prefix deliveries were dropped, so the worker gets a `pgap` on drain. */
  missedPrefixes: boolean;
  /** Presence entries this worker added (channel → client ids), removed when it goes away. */
  readonly presence: Map<string, Set<string>>;
}

interface ChannelState {
  readonly workers: Set<Worker>;
  /** The broker subscribe/unsubscribe of this channel in flight; the next waits for it. */
  op: Promise<void>;
}

/**
 * The primary's side of the IPC engine: runs the requests of every attached worker (see
 * `createIpcEngine`) on one engine and relays its deliveries to the workers that subscribed the
 * channel. Because every publish goes through the one engine, offsets stay assigned atomically
 * in one place, and every worker receives a channel's publications in the engine's order.
 *
 * Contract: a worker's requests run in the order they arrive; replies go back on the worker's
 * port (replies are never held back). While a worker's port reports a backlog, its deliveries are
 * dropped; when the port drains the worker gets one `gap` message naming those channels. When a
 * worker is detached (it died), the presence entries it added are removed. The engine's broker is subscribed to a channel while at least one worker is. `close()`
 * detaches every worker and closes the engine's broker and presence.
 */
export class IpcEngineHost {
  readonly #engine: IpcHostedEngine;
  readonly #channels = new Map<string, ChannelState>();
  /** Prefix → workers that subscribed it; the broker is subscribed while a prefix has one. */
  readonly #prefixes = new Map<string, ChannelState>();
  readonly #workers = new Set<Worker>();
  #state: 'new' | 'running' | 'closed' = 'new';

  constructor(engine: IpcHostedEngine) {
    this.#engine = engine;
  }

  /** Workers attached now. */
  get workerCount(): number {
    return this.#workers.size;
  }

  /** Starts the engine's broker with a handler relaying to the workers. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new TidingsError(TidingsErrorCode.State, 'IpcEngineHost.start: already started');
    await this.#engine.broker.start({
      onPublication: (channel, pub, epoch) => this.#relay(channel, { ipc: 'pub', channel, pub, epoch }),
      onJoin: (channel, info) => this.#relay(channel, { ipc: 'join', channel, info }),
      onLeave: (channel, info) => this.#relay(channel, { ipc: 'leave', channel, info }),
      onPrefixPublication: (channel, pub, epoch) => this.#relayPrefix(channel, { ipc: 'ppub', channel, pub, epoch }),
      onPrefixDiscontinuity: () => {
        for (const worker of this.#workers) if (worker.prefixes.size > 0) worker.port.send({ ipc: 'pgap' });
      },
    });
    this.#state = 'running';
  }

  /** Serves the worker at the other end of `port` until `detach()` or the port closes. */
  attach(port: IpcPort): IpcAttachment {
    if (this.#state === 'closed') throw new TidingsError(TidingsErrorCode.State, 'IpcEngineHost.attach: closed');
    const worker: Worker = {
      port,
      channels: new Set(),
      attached: true,
      missed: undefined,
      prefixes: new Set(),
      missedPrefixes: false,
      presence: new Map(),
    };
    this.#workers.add(worker);
    const detach = () => this.#detach(worker);
    port.onMessage((message) => {
      if (message.ipc === 'req' && worker.attached) this.#serve(worker, message);
    });
    port.onClose?.(detach);
    port.onDrain?.(() => {
      const missed = worker.missed;
      worker.missed = undefined;
      if (missed !== undefined && missed.size > 0 && worker.attached) port.send({ ipc: 'gap', channels: [...missed] });
      if (worker.missedPrefixes && worker.attached) port.send({ ipc: 'pgap' });
      worker.missedPrefixes = false;
    });
    return { detach };
  }

  /** Detaches every worker, then closes the engine (idempotent). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const worker of [...this.#workers]) this.#detach(worker);
    await this.#engine.broker.close();
    await this.#engine.presence.close();
    await this.#engine.state?.close();
  }

  // A worker that stops reading must not grow the primary: past the port's bound its deliveries
  // are dropped and remembered by channel (a bounded set), and it re-checks them from history.
  #relay(channel: string, message: IpcMessage): void {
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    for (const worker of state.workers) {
      if (worker.missed !== undefined) worker.missed.add(channel);
      else if (!worker.port.send(message) && worker.port.onDrain !== undefined) worker.missed = new Set();
    }
  }

  #relayPrefix(channel: string, message: IpcMessage): void {
    for (const worker of this.#workers) {
      if (worker.prefixes.size === 0 || !startsWithAny(channel, worker.prefixes)) continue;
      if (worker.missed !== undefined) worker.missedPrefixes = true;
      else if (!worker.port.send(message) && worker.port.onDrain !== undefined) worker.missed = new Set();
    }
  }

  #serve(worker: Worker, request: IpcRequest): void {
    const { id } = request;
    let result: Promise<unknown>;
    try {
      result = this.#run(worker, request);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) =>
        worker.attached && worker.port.send(value === undefined ? { ipc: 'res', id } : { ipc: 'res', id, value }),
      (error: unknown) => worker.attached && worker.port.send(errorReply(id, error)),
    );
  }

  // Called synchronously on arrival: for the memory engine the offset is assigned before the
  // next message is looked at, so arrival order is publish order.
  #run(worker: Worker, r: IpcRequest): Promise<unknown> {
    const { broker, history, presence } = this.#engine;
    switch (r.op) {
      case 'ping':
        return Promise.resolve();
      case 'subscribe':
        return Promise.all(r.channels.map((ch) => this.#subscribe(worker, ch)));
      case 'unsubscribe':
        return Promise.all(r.channels.map((ch) => this.#unsubscribe(worker, ch)));
      case 'subscribePrefixes':
        return Promise.all(r.prefixes.map((p) => this.#subscribePrefix(worker, p)));
      case 'unsubscribePrefixes':
        return Promise.all(r.prefixes.map((p) => this.#unsubscribePrefix(worker, p)));
      case 'publish':
        return broker.publish(r.channel, r.data, r.options);
      case 'publishMany':
        return this.#publishMany(r.items).then((outcomes) => outcomes.map(outcomeReply));
      case 'publishJoin':
        return broker.publishJoin(r.channel, r.info);
      case 'publishLeave':
        return broker.publishLeave(r.channel, r.info);
      case 'history':
        return history.history(r.channel, r.query as HistoryQuery);
      case 'removeHistory':
        return history.removeHistory(r.channel);
      case 'channels':
        return history.channels?.(r.prefix, r.limit) ?? Promise.resolve([]);
      case 'presenceAdd': {
        const clients = worker.presence.get(r.channel) ?? new Set();
        worker.presence.set(r.channel, clients.add(r.clientId));
        return presence.add(r.channel, r.clientId, r.info as ClientInfo, r.ttlMs);
      }
      case 'presenceRemove': {
        const clients = worker.presence.get(r.channel);
        if (clients?.delete(r.clientId) === true && clients.size === 0) worker.presence.delete(r.channel);
        return presence.remove(r.channel, r.clientId);
      }
      case 'presenceGet':
        return presence.get(r.channel);
      case 'presenceStats':
        return presence.stats(r.channel);
      case 'statePut':
        return this.#state_().put(r.channel, r.entry, r.ttlMs);
      case 'stateGet':
        return this.#state_().get(r.channel, r.key);
      case 'stateSnapshot':
        return this.#state_().snapshot(r.channel);
      case 'stateRemove':
        return this.#state_().remove(r.channel, r.key);
    }
  }

  async #publishMany(items: readonly BrokerPublishItem[]): Promise<BrokerPublishOutcome[]> {
    const broker = this.#engine.broker;
    if (broker.publishMany !== undefined) return broker.publishMany(items);
    // Started in order; the engine applies publishes in the order issued (see `#run`).
    const settled = await Promise.allSettled(items.map((i) => broker.publish(i.channel, i.data, i.options)));
    return settled.map((s) =>
      s.status === 'fulfilled' ? { ok: true, result: s.value } : { ok: false, error: s.reason },
    );
  }

  #state_(): StateStore {
    const store = this.#engine.state;
    if (store === undefined) throw new TidingsError(TidingsErrorCode.State, 'the primary engine has no state store');
    return store;
  }

  #subscribe(worker: Worker, channel: string): Promise<void> {
    let state = this.#channels.get(channel);
    if (state === undefined) {
      state = { workers: new Set(), op: Promise.resolve() };
      this.#channels.set(channel, state);
    }
    worker.channels.add(channel);
    const first = state.workers.size === 0;
    state.workers.add(worker);
    if (!first) return state.op;
    const op = state.op.then(() => this.#engine.broker.subscribe([channel]));
    // A failed subscribe must not poison the chain for the next one.
    state.op = op.catch(() => {
      state.workers.delete(worker);
      worker.channels.delete(channel);
    });
    return op;
  }

  #unsubscribe(worker: Worker, channel: string): Promise<void> {
    worker.channels.delete(channel);
    const state = this.#channels.get(channel);
    if (state === undefined || !state.workers.delete(worker) || state.workers.size > 0) return Promise.resolve();
    const op = state.op.then(async () => {
      // A worker may have subscribed again while the broker was busy.
      if (state.workers.size > 0) return;
      await this.#engine.broker.unsubscribe([channel]);
    });
    const settled = op.catch(() => undefined);
    state.op = settled;
    // Forget the channel once idle, so the map holds only channels some worker follows.
    void settled.then(() => {
      if (state.workers.size === 0 && state.op === settled) this.#channels.delete(channel);
    });
    return op;
  }

  #subscribePrefix(worker: Worker, prefix: string): Promise<void> {
    const broker = this.#engine.broker;
    if (broker.subscribePrefixes === undefined) {
      return Promise.reject(new TidingsError(TidingsErrorCode.Unavailable, 'the engine has no prefix subscriptions'));
    }
    let state = this.#prefixes.get(prefix);
    if (state === undefined) {
      state = { workers: new Set(), op: Promise.resolve() };
      this.#prefixes.set(prefix, state);
    }
    worker.prefixes.add(prefix);
    const first = state.workers.size === 0;
    state.workers.add(worker);
    if (!first) return state.op;
    const op = state.op.then(() => broker.subscribePrefixes?.([prefix]));
    state.op = op.catch(() => {
      state.workers.delete(worker);
      worker.prefixes.delete(prefix);
    });
    return op;
  }

  #unsubscribePrefix(worker: Worker, prefix: string): Promise<void> {
    worker.prefixes.delete(prefix);
    const state = this.#prefixes.get(prefix);
    if (state === undefined || !state.workers.delete(worker) || state.workers.size > 0) return Promise.resolve();
    const op = state.op.then(async () => {
      if (state.workers.size > 0) return;
      await this.#engine.broker.unsubscribePrefixes?.([prefix]);
    });
    const settled = op.catch(() => undefined);
    state.op = settled;
    void settled.then(() => {
      if (state.workers.size === 0 && state.op === settled) this.#prefixes.delete(prefix);
    });
    return op;
  }

  #detach(worker: Worker): void {
    if (!worker.attached) return;
    worker.attached = false;
    this.#workers.delete(worker);
    for (const channel of [...worker.channels]) void this.#unsubscribe(worker, channel).catch(() => undefined);
    for (const prefix of [...worker.prefixes]) void this.#unsubscribePrefix(worker, prefix).catch(() => undefined);
    // Its clients are gone with it: drop their presence now rather than when the TTLs run out.
    for (const [channel, clients] of worker.presence) {
      for (const clientId of clients) void this.#engine.presence.remove(channel, clientId).catch(() => undefined);
    }
    worker.presence.clear();
  }
}

function startsWithAny(channel: string, prefixes: ReadonlySet<string>): boolean {
  for (const prefix of prefixes) if (channel.startsWith(prefix)) return true;
  return false;
}
