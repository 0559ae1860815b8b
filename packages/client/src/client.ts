import { type ClientCodec, type Command, ErrorCode, type Push, type Reply, shouldReconnect } from '@tidings/protocol';
import { type BackoffOptions, backoffDelay, defaultBackoff } from './backoff.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import {
  type ConnectionInput,
  type ConnectionReason,
  type ConnectionState,
  nextConnectionState,
} from './connection-machine.js';
import { Emitter } from './emitter.js';
import { ConnectionLostError, isUnauthorized } from './errors.js';
import { defaultOutboxLimits, MemoryOutboxStore, type OutboxLimits, type OutboxStore } from './outbox.js';
import { OutboxSender } from './outbox-sender.js';
import { Subscription } from './subscription.js';
import type { Transport, TransportFactory } from './transport.js';

/** Options of {@link TidingsClient}. */
export interface ClientOptions {
  /** Transports in fallback order: the first is tried first, the next when one fails to open. */
  readonly transports: readonly TransportFactory[];
  /**
   * Codec of transports that bring none. Every built-in factory brings its own (WebSocket the one it
   * was given, SSE, fetch stream and polling JSON), so this is only needed for custom factories.
   */
  readonly codec?: ClientCodec;
  /** Connection token callback, called before every connect and before the token expires. */
  readonly getToken?: () => Promise<string>;
  readonly backoff?: BackoffOptions;
  /** Refresh tokens this long before they expire (default 10 s, at most half the lifetime). */
  readonly refreshMarginMs?: number;
  /** After running on a fallback transport this long, try the first one again (default 60 s). */
  readonly upgradeAfterMs?: number;
  /**
   * A transport that has not brought the connect reply this long after it was opened counts as
   * failed (a proxy that buffers streams), and the next one is tried (default 10 s).
   */
  readonly connectTimeoutMs?: number;
  /** Extra wait on top of the server's ping interval before the connection counts as dead (default 10 s). */
  readonly maxPingDelayMs?: number;
  readonly outbox?: OutboxStore;
  readonly outboxLimits?: OutboxLimits;
  /** Test seams. */
  readonly clock?: Clock;
  readonly random?: () => number;
}

/** Events of a {@link TidingsClient}. */
export interface ClientEvents {
  [key: string]: unknown;
  state: {
    readonly state: ConnectionState;
    readonly previous: ConnectionState;
    readonly reason: ConnectionReason;
    /** Disconnect/close code when the transition came from one. */
    readonly code?: number;
    /** Name of the transport in use (or being tried). */
    readonly transport: string;
  };
}

/**
 * The Tidings client: one connection, many subscriptions, an offline outbox. The connection is
 * the transition table of connection-machine.ts; every transport callback carries the generation
 * of the transport that made it, so a late callback of a replaced transport changes nothing.
 */
export class TidingsClient extends Emitter<ClientEvents> {
  readonly #o: ClientOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  #state: ConnectionState = 'disconnected';
  #gen = 0;
  #transport: Transport | undefined;
  #transportIndex = 0;
  #opened = false;
  /** The current transport brought a connect reply: losing it now is not a reason to fall back. */
  #connected = false;
  #attempt = 0;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  readonly #subs = new Map<string, Subscription>();
  readonly #timers = new Map<string, TimerHandle>();
  #pingMs = 0;
  #pong = false;
  readonly #outbox: OutboxSender;

  constructor(options: ClientOptions) {
    super();
    if (options.transports.length === 0) throw new TypeError('ClientOptions.transports is empty');
    if (options.codec === undefined && options.transports.some((t) => t.codec === undefined)) {
      throw new TypeError('ClientOptions.codec is needed for transports that bring no codec');
    }
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#outbox = new OutboxSender(
      options.outbox ?? new MemoryOutboxStore(),
      options.outboxLimits ?? defaultOutboxLimits,
      (cmd) => this.#call(cmd),
    );
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Name of the current transport. */
  get transport(): string {
    return this.#o.transports[this.#transportIndex]?.name ?? '';
  }

  /** Starts connecting (and reconnecting with backoff until `disconnect` or a terminal code). */
  connect(): void {
    if (this.#move('connect', 'connect_called')) this.#open();
  }

  /** Closes the connection; subscriptions and queued publishes stay for the next `connect`. */
  disconnect(): void {
    if (!this.#move('disconnect', 'disconnect_called')) return;
    this.#drop();
  }

  /** The subscription of `channel`, created and subscribed (when connected) on first call. */
  subscribe(channel: string, options: { readonly getToken?: (channel: string) => Promise<string> } = {}): Subscription {
    let sub = this.#subs.get(channel);
    if (sub === undefined) {
      sub = new Subscription(channel, options.getToken);
      this.#subs.set(channel, sub);
      if (this.#state === 'connected') void this.#subscribe(sub, 'subscribe_called');
    }
    return sub;
  }

  /** Ends the subscription of `channel`; its position is forgotten. */
  unsubscribe(channel: string): void {
    const sub = this.#subs.get(channel);
    if (sub === undefined) return;
    this.#subs.delete(channel);
    sub.move('unsubscribe', 'unsubscribe_called');
    if (this.#state === 'connected') this.#call({ unsubscribe: { channel } }).catch(() => {});
  }

  /**
   * Publishes `data` (JSON-serialisable) into `channel` through the outbox: queued in order (also
   * while offline), sent when connected. Resolves when the server acknowledged it; rejects with a
   * `TidingsError` State when the outbox is full, or with the server's error for a refused publish.
   */
  publish(channel: string, data: unknown): Promise<void> {
    const p = this.#outbox.enqueue(channel, JSON.stringify(data));
    if (this.#state === 'connected') void this.#outbox.flush();
    return p;
  }

  #codec(): ClientCodec {
    return (this.#o.transports[this.#transportIndex]?.codec ?? this.#o.codec) as ClientCodec;
  }

  #move(input: ConnectionInput, reason: ConnectionReason, code?: number): boolean {
    const next = nextConnectionState(this.#state, input);
    if (next === undefined) return false;
    const previous = this.#state;
    this.#state = next;
    if (previous !== next) {
      this.emit('state', {
        state: next,
        previous,
        reason,
        transport: this.transport,
        ...(code === undefined ? {} : { code }),
      });
    }
    return true;
  }

  #timer(name: string, ms: number, fn: () => void): void {
    this.#clearTimer(name);
    this.#timers.set(
      name,
      this.#clock.setTimeout(() => {
        this.#timers.delete(name);
        fn();
      }, ms),
    );
  }

  #clearTimer(name: string): void {
    const t = this.#timers.get(name);
    if (t !== undefined) this.#clock.clearTimeout(t);
    this.#timers.delete(name);
  }

  #open(): void {
    const gen = ++this.#gen;
    const factory = this.#o.transports[this.#transportIndex] as TransportFactory;
    this.#opened = false;
    this.#connected = false;
    this.#timer('connect', this.#o.connectTimeoutMs ?? 10_000, () => {
      const t = this.#transport;
      this.#lost(0, 'connect timeout');
      t?.close();
    });
    const live = () => gen === this.#gen;
    try {
      this.#transport = factory.open({
        onOpen: () => live() && this.#onOpen(gen),
        onMessage: (frame) => live() && this.#onFrame(frame),
        onClose: (code, reason) => live() && this.#lost(code, reason),
      });
    } catch {
      this.#lost(0, 'transport unavailable');
    }
  }

  async #onOpen(gen: number): Promise<void> {
    this.#opened = true;
    this.#move('transport_open', 'connect_called');
    let token: string | undefined;
    try {
      token = this.#o.getToken === undefined ? undefined : await this.#o.getToken();
    } catch (error) {
      if (gen === this.#gen) this.#fail(error);
      return;
    }
    if (gen !== this.#gen) return;
    this.#call({ connect: token === undefined ? {} : { token } }).then(
      (reply) => gen === this.#gen && this.#onConnectReply(reply),
      () => {},
    );
  }

  #onConnectReply(reply: Reply): void {
    if (reply.error !== undefined) {
      const terminal = reply.error.code === ErrorCode.Unauthorized || reply.error.code === ErrorCode.PermissionDenied;
      if (terminal) {
        this.#terminal(reply.error.code, 'token_error');
        return;
      }
      const t = this.#transport;
      this.#lost(0, reply.error.message);
      t?.close();
      return;
    }
    const result = reply.connect;
    if (result === undefined) return;
    this.#move('connected', 'connect_reply');
    this.#clearTimer('connect');
    this.#connected = true;
    this.#attempt = 0;
    this.#pingMs = (result.ping ?? 0) * 1000;
    this.#pong = result.pong === true;
    this.#armPing();
    if (result.expires === true && result.ttl !== undefined) this.#scheduleRefresh(result.ttl);
    if (this.#transportIndex > 0) {
      this.#timer('upgrade', this.#o.upgradeAfterMs ?? 60_000, () => this.#upgrade());
    }
    for (const sub of this.#subs.values()) void this.#subscribe(sub, 'subscribe_called');
    void this.#outbox.flush();
  }

  #upgrade(): void {
    if (this.#state !== 'connected') return;
    this.#transportIndex = 0;
    const old = this.#transport;
    this.#lost(0, 'upgrade');
    old?.close();
  }

  #armPing(): void {
    if (this.#pingMs <= 0) return;
    this.#timer('ping', this.#pingMs + (this.#o.maxPingDelayMs ?? 10_000), () => {
      const t = this.#transport;
      this.#lost(DisconnectNoPong, 'no ping');
      t?.close();
    });
  }

  #scheduleRefresh(ttlSec: number): void {
    const ttl = ttlSec * 1000;
    const delay = Math.max(ttl / 2, ttl - (this.#o.refreshMarginMs ?? 10_000));
    this.#timer('refresh', delay, () => void this.#refresh(this.#gen));
  }

  async #refresh(gen: number): Promise<void> {
    if (this.#o.getToken === undefined || this.#state !== 'connected') return;
    try {
      const token = await this.#o.getToken();
      if (gen !== this.#gen) return;
      const reply = await this.#call({ refresh: { token } });
      if (reply.error !== undefined) return this.#terminal(reply.error.code, 'token_error');
      if (reply.refresh?.expires === true && reply.refresh.ttl !== undefined) this.#scheduleRefresh(reply.refresh.ttl);
    } catch (error) {
      if (gen !== this.#gen) return;
      if (isUnauthorized(error)) return this.#fail(error);
      // A network error while fetching the token: try again soon, the current token is still valid.
      this.#timer(
        'refresh',
        backoffDelay(0, this.#o.backoff ?? defaultBackoff, this.#random),
        () => void this.#refresh(gen),
      );
    }
  }

  async #subscribe(sub: Subscription, reason: 'subscribe_called' | 'gap_detected'): Promise<void> {
    sub.move('subscribe', reason);
    const gen = this.#gen;
    try {
      const token = sub.getToken === undefined ? undefined : await sub.getToken(sub.channel);
      if (gen !== this.#gen || this.#subs.get(sub.channel) !== sub) return;
      const pos = sub.position;
      const reply = await this.#call({
        subscribe: {
          channel: sub.channel,
          // Always ask for a positioned, recoverable stream: the server grants it where the
          // namespace allows (allowRecovery / allowPositioning) and ignores it elsewhere.
          recoverable: true,
          positioned: true,
          ...(token === undefined ? {} : { token }),
          ...(pos === undefined ? {} : { recover: true, epoch: pos.epoch, offset: pos.offset }),
        },
      });
      if (gen !== this.#gen || this.#subs.get(sub.channel) !== sub) return;
      if (reply.error !== undefined) {
        sub.emit('error', { code: reply.error.code, message: reply.error.message });
        if (reply.error.temporary === true || reply.error.code === ErrorCode.TokenExpired) {
          this.#timer(
            `sub:${sub.channel}`,
            backoffDelay(1, this.#o.backoff ?? defaultBackoff, this.#random),
            () => void this.#subscribe(sub, 'subscribe_called'),
          );
        } else sub.move('failed', 'subscribe_error');
        return;
      }
      const result = reply.subscribe ?? {};
      if (sub.applySubscribed(result) === 'gap') this.#resubscribe(sub);
      if (result.expires === true && result.ttl !== undefined && sub.getToken !== undefined) {
        this.#scheduleSubRefresh(sub, result.ttl);
      }
    } catch (error) {
      if (isUnauthorized(error)) {
        sub.emit('error', { code: ErrorCode.Unauthorized, message: String(error) });
        sub.move('failed', 'subscribe_error');
      }
      // Otherwise the connection is gone; the subscription resubscribes on reconnect.
    }
  }

  #scheduleSubRefresh(sub: Subscription, ttlSec: number): void {
    const ttl = ttlSec * 1000;
    const gen = this.#gen;
    this.#timer(`subrefresh:${sub.channel}`, Math.max(ttl / 2, ttl - (this.#o.refreshMarginMs ?? 10_000)), async () => {
      if (gen !== this.#gen || sub.getToken === undefined) return;
      try {
        const token = await sub.getToken(sub.channel);
        const reply = await this.#call({ subRefresh: { channel: sub.channel, token } });
        if (reply.subRefresh?.expires === true && reply.subRefresh.ttl !== undefined)
          this.#scheduleSubRefresh(sub, reply.subRefresh.ttl);
      } catch (error) {
        if (isUnauthorized(error)) this.unsubscribe(sub.channel);
      }
    });
  }

  #resubscribe(sub: Subscription): void {
    // Commands run in order on the server: the unsubscribe lands before the recovering subscribe.
    this.#call({ unsubscribe: { channel: sub.channel } }).catch(() => {});
    void this.#subscribe(sub, 'gap_detected');
  }

  #call(command: Command): Promise<Reply> {
    const transport = this.#transport;
    if (transport === undefined || !this.#opened) return Promise.reject(new ConnectionLostError());
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      transport.send(this.#codec().encodeCommands([{ ...command, id }]));
    });
  }

  #onFrame(frame: Uint8Array): void {
    let replies: Reply[];
    try {
      replies = this.#codec().decodeReplies(frame);
    } catch {
      const t = this.#transport;
      this.#lost(0, 'bad frame');
      t?.close();
      return;
    }
    this.#armPing();
    for (const reply of replies) {
      if (reply.id !== undefined && reply.id > 0) {
        const p = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        p?.resolve(reply);
      } else if (reply.push !== undefined) this.#onPush(reply.push);
      else if (this.#pong) this.#transport?.send(this.#codec().encodeCommands([{}]));
    }
  }

  #onPush(push: Push): void {
    const sub = push.channel === undefined ? undefined : this.#subs.get(push.channel);
    if (push.pub !== undefined && sub !== undefined) {
      if (sub.deliver(push.pub) === 'gap') this.#resubscribe(sub);
    } else if (push.unsubscribe !== undefined && sub !== undefined) {
      if (push.unsubscribe.code >= 2500) this.#resubscribe(sub);
      else {
        this.#subs.delete(sub.channel);
        sub.move('failed', 'server_unsubscribe');
      }
    } else if (push.disconnect !== undefined) {
      const t = this.#transport;
      this.#lost(push.disconnect.code, push.disconnect.reason);
      t?.close();
    }
  }

  #fail(error: unknown): void {
    if (isUnauthorized(error)) {
      this.#terminal(ErrorCode.Unauthorized, 'token_error');
      return;
    }
    const t = this.#transport;
    this.#lost(0, String(error));
    t?.close();
  }

  #terminal(code: number, reason: ConnectionReason): void {
    this.#move('terminal', reason, code);
    this.#drop();
  }

  /** Forgets the transport: pending commands fail, timers stop, subscriptions wait. */
  #drop(): void {
    this.#gen++;
    const t = this.#transport;
    this.#transport = undefined;
    this.#opened = false;
    t?.close();
    for (const name of [...this.#timers.keys()]) this.#clearTimer(name);
    for (const p of this.#pending.values()) p.reject(new ConnectionLostError());
    this.#pending.clear();
    for (const sub of this.#subs.values()) sub.move('connection_lost', 'connection_lost');
  }

  #lost(code: number, _reason: string): void {
    if (this.#state !== 'connecting' && this.#state !== 'connected') return;
    if (code !== 0 && !shouldReconnect(code)) {
      this.#terminal(code, 'terminal_code');
      return;
    }
    const connected = this.#connected;
    this.#drop();
    this.#move(
      'transport_lost',
      connected ? (code >= 3000 ? 'server_disconnect' : 'transport_closed') : 'transport_failed',
      code,
    );
    // Failing before the connect reply (refused upgrade, blocked or buffered stream) moves down the
    // fallback order; losing a working transport reconnects on the same one.
    if (!connected) this.#transportIndex = (this.#transportIndex + 1) % this.#o.transports.length;
    const delay = backoffDelay(this.#attempt++, this.#o.backoff ?? defaultBackoff, this.#random);
    this.#timer('reconnect', delay, () => {
      if (this.#move('retry', 'backoff_elapsed')) this.#open();
    });
  }
}

const DisconnectNoPong = 3012;
