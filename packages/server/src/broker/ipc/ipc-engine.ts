import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { type Clock, systemClock } from '../../internal/clock.js';
import type {
  Broker,
  BrokerEventHandler,
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
} from '../types.js';
import { type IpcEvent, IpcLink } from './ipc-link.js';
import { errorOf, type IpcPort, type IpcPublishOutcome } from './messages.js';

/** Options of `createIpcEngine`. */
export interface IpcEngineOptions {
  /** The channel to the primary's `IpcEngineHost`. */
  readonly port: IpcPort;
  /** A request the primary leaves unanswered this long fails with `TIDINGS_ERR_UNAVAILABLE`. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Requests in flight at most; more fail at once with `TIDINGS_ERR_UNAVAILABLE`. Default 10,000. */
  readonly maxPendingRequests?: number;
  /** Time source of the request timeouts. Default `systemClock`. */
  readonly clock?: Clock;
}

/** The parts of an IPC engine, ready for `NodeOptions`. */
export interface IpcEngine {
  readonly broker: IpcBroker;
  /** The same object as `broker`. */
  readonly history: IpcBroker;
  readonly presence: IpcPresence;
  /** State channels' documents, kept by the primary's engine. */
  readonly state: IpcStateStore;
}

/**
 * The engine of a worker process: broker, history and presence calls are forwarded over `port`
 * to one `IpcEngineHost` in the primary, which runs them on its single engine (e.g. the memory
 * engine). Offsets are therefore assigned in one place for every worker, and each worker receives
 * the publications of the channels it subscribed to in the primary's delivery order.
 */
export function createIpcEngine(options: IpcEngineOptions): IpcEngine {
  let broker: IpcBroker | undefined;
  const link = new IpcLink(options.port, {
    clock: options.clock ?? systemClock,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    maxPendingRequests: options.maxPendingRequests ?? 10_000,
    onEvent: (event) => broker?.deliver(event),
  });
  broker = new IpcBroker(link);
  return { broker, history: broker, presence: new IpcPresence(link), state: new IpcStateStore(link) };
}

function closedError(method: string): TidingsError {
  return new TidingsError(TidingsErrorCode.State, `IpcBroker.${method}: closed`);
}

/**
 * A `Broker` and `HistoryStore` that forwards to the primary (see `createIpcEngine`).
 *
 * - `publish` resolves with the position the primary's engine assigned; while the primary is
 *   gone or does not answer in time it rejects with `TIDINGS_ERR_UNAVAILABLE` (the API's 503).
 * - Deliveries reach the handler only for channels passed to `subscribe`, in the order the
 *   primary delivered them; a publication the primary delivered before acknowledging a publish
 *   reaches the handler before that publish resolves.
 * - When this worker falls behind (the channel's backlog is past its bound) the primary holds
 *   back its publications and, once the backlog is written out, names the channels concerned:
 *   the handler's `onDiscontinuity` gets them (delivery across processes is at most once; gaps
 *   are found by offsets, as with Redis).
 * - `ready()` is false once the link to the primary is gone.
 * - After `close()` every method rejects with `TIDINGS_ERR_STATE`, except `unsubscribe` (a no-op)
 *   and `close` (idempotent); the primary stops sending this worker's channels.
 */
export class IpcBroker implements Broker, HistoryStore {
  readonly #link: IpcLink;
  readonly #subscribed = new Set<string>();
  readonly #prefixes = new Set<string>();
  #handler: BrokerEventHandler | undefined;
  #closed = false;

  /** Use `createIpcEngine`. */
  constructor(link: IpcLink) {
    this.#link = link;
  }

  /** Checks the primary answers, then delivers to `handler`. Rejects with `TIDINGS_ERR_UNAVAILABLE` when it does not. */
  async start(handler: BrokerEventHandler): Promise<void> {
    if (this.#closed) throw closedError('start');
    if (this.#handler !== undefined) throw new TidingsError(TidingsErrorCode.State, 'IpcBroker.start: already started');
    await this.#link.request({ op: 'ping' });
    this.#handler = handler;
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    if (this.#closed) throw closedError('subscribe');
    const added = channels.filter((ch) => !this.#subscribed.has(ch));
    for (const ch of added) this.#subscribed.add(ch);
    try {
      await this.#link.request({ op: 'subscribe', channels });
    } catch (error) {
      for (const ch of added) this.#subscribed.delete(ch);
      throw error;
    }
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    const removed = channels.filter((ch) => this.#subscribed.delete(ch));
    if (this.#closed || removed.length === 0 || !this.#link.connected) return;
    await this.#link.request({ op: 'unsubscribe', channels: removed });
  }

  async subscribePrefixes(prefixes: readonly string[]): Promise<void> {
    if (this.#closed) throw closedError('subscribePrefixes');
    const added = prefixes.filter((p) => !this.#prefixes.has(p));
    for (const p of added) this.#prefixes.add(p);
    try {
      await this.#link.request({ op: 'subscribePrefixes', prefixes });
    } catch (error) {
      for (const p of added) this.#prefixes.delete(p);
      throw error;
    }
  }

  async unsubscribePrefixes(prefixes: readonly string[]): Promise<void> {
    const removed = prefixes.filter((p) => this.#prefixes.delete(p));
    if (this.#closed || removed.length === 0 || !this.#link.connected) return;
    await this.#link.request({ op: 'unsubscribePrefixes', prefixes: removed });
  }

  async publish(channel: string, data: Uint8Array, options: BrokerPublishOptions = {}): Promise<BrokerPublishResult> {
    if (this.#closed) throw closedError('publish');
    return (await this.#link.request({ op: 'publish', channel, data, options })) as BrokerPublishResult;
  }

  /**
   * One request carrying every item: the primary runs them with its engine's `publishMany` (or
   * in order with `publish`), so a batch costs one IPC round trip; outcomes come back per item.
   */
  async publishMany(items: readonly BrokerPublishItem[]): Promise<BrokerPublishOutcome[]> {
    if (this.#closed) throw closedError('publishMany');
    const wire = items.map((i) => ({
      channel: i.channel,
      data: i.data,
      ...(i.options === undefined ? {} : { options: i.options }),
    }));
    const replies = (await this.#link.request({ op: 'publishMany', items: wire })) as IpcPublishOutcome[];
    return replies.map((r) =>
      r.ok ? { ok: true, result: r.result as BrokerPublishResult } : { ok: false, error: errorOf(r.code, r.message) },
    );
  }

  async publishJoin(channel: string, info: ClientInfo): Promise<void> {
    if (this.#closed) throw closedError('publishJoin');
    await this.#link.request({ op: 'publishJoin', channel, info });
  }

  async publishLeave(channel: string, info: ClientInfo): Promise<void> {
    if (this.#closed) throw closedError('publishLeave');
    await this.#link.request({ op: 'publishLeave', channel, info });
  }

  async history(channel: string, query: HistoryQuery): Promise<HistoryReadResult> {
    if (this.#closed) throw closedError('history');
    return (await this.#link.request({ op: 'history', channel, query })) as HistoryReadResult;
  }

  async channels(prefix: string, limit: number): Promise<string[]> {
    if (this.#closed) throw closedError('channels');
    return (await this.#link.request({ op: 'channels', prefix, limit })) as string[];
  }

  async removeHistory(channel: string): Promise<void> {
    if (this.#closed) throw closedError('removeHistory');
    await this.#link.request({ op: 'removeHistory', channel });
  }

  ready(): boolean {
    return !this.#closed && this.#link.connected;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    const channels = [...this.#subscribed];
    this.#subscribed.clear();
    if (channels.length > 0 && this.#link.connected) {
      await this.#link.request({ op: 'unsubscribe', channels }).catch(() => undefined);
    }
    const prefixes = [...this.#prefixes];
    this.#prefixes.clear();
    if (prefixes.length > 0 && this.#link.connected) {
      await this.#link.request({ op: 'unsubscribePrefixes', prefixes }).catch(() => undefined);
    }
    this.#link.stop();
  }

  /** Called by the link for every delivery the primary pushes. */
  deliver(event: IpcEvent): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    if (event.ipc === 'gap') {
      const channels = event.channels.filter((ch) => this.#subscribed.has(ch));
      if (channels.length > 0) handler.onDiscontinuity?.(channels);
      return;
    }
    if (event.ipc === 'pgap') {
      if (this.#prefixes.size > 0) handler.onPrefixDiscontinuity?.();
      return;
    }
    if (event.ipc === 'ppub') {
      // The host relays by worker, not by prefix: a prefix dropped meanwhile filters here.
      for (const p of this.#prefixes) {
        if (event.channel.startsWith(p)) {
          handler.onPrefixPublication?.(event.channel, event.pub, event.epoch);
          return;
        }
      }
      return;
    }
    if (!this.#subscribed.has(event.channel)) return;
    if (event.ipc === 'pub') handler.onPublication(event.channel, event.pub, event.epoch);
    else if (event.ipc === 'join') handler.onJoin(event.channel, event.info);
    else handler.onLeave(event.channel, event.info);
  }
}

/**
 * A `PresenceStore` kept by the primary's engine for every worker (see `createIpcEngine`).
 * Calls reject with `TIDINGS_ERR_UNAVAILABLE` while the primary is gone, and with
 * `TIDINGS_ERR_STATE` after `close()`. Entries of a worker that died expire by their TTL.
 */
export class IpcPresence implements PresenceStore {
  readonly #link: IpcLink;
  #closed = false;

  /** Use `createIpcEngine`. */
  constructor(link: IpcLink) {
    this.#link = link;
  }

  async add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void> {
    this.#assertOpen('add');
    await this.#link.request({ op: 'presenceAdd', channel, clientId, info, ttlMs });
  }

  async remove(channel: string, clientId: string): Promise<void> {
    this.#assertOpen('remove');
    await this.#link.request({ op: 'presenceRemove', channel, clientId });
  }

  async get(channel: string): Promise<Record<string, ClientInfo>> {
    this.#assertOpen('get');
    return (await this.#link.request({ op: 'presenceGet', channel })) as Record<string, ClientInfo>;
  }

  async stats(channel: string): Promise<PresenceStats> {
    this.#assertOpen('stats');
    return (await this.#link.request({ op: 'presenceStats', channel })) as PresenceStats;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `IpcPresence.${method}: closed`);
  }
}

/**
 * A `StateStore` kept by the primary's engine for every worker (see `createIpcEngine`), so all
 * workers serve the same snapshot. Calls reject with `TIDINGS_ERR_UNAVAILABLE` while the primary
 * is gone, and with `TIDINGS_ERR_STATE` after `close()` or when the primary has no state store.
 */
export class IpcStateStore implements StateStore {
  readonly #link: IpcLink;
  #closed = false;

  /** Use `createIpcEngine`. */
  constructor(link: IpcLink) {
    this.#link = link;
  }

  async put(channel: string, entry: StateEntry, ttlMs: number): Promise<boolean> {
    this.#assertOpen('put');
    return (await this.#link.request({ op: 'statePut', channel, entry, ttlMs })) as boolean;
  }

  async get(channel: string, key: string): Promise<StateEntry | undefined> {
    this.#assertOpen('get');
    return (await this.#link.request({ op: 'stateGet', channel, key })) as StateEntry | undefined;
  }

  async snapshot(channel: string): Promise<StateEntry[]> {
    this.#assertOpen('snapshot');
    return (await this.#link.request({ op: 'stateSnapshot', channel })) as StateEntry[];
  }

  async remove(channel: string, key?: string): Promise<void> {
    this.#assertOpen('remove');
    await this.#link.request({ op: 'stateRemove', channel, ...(key === undefined ? {} : { key }) });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `IpcStateStore.${method}: closed`);
  }
}
