import { randomUUID } from 'node:crypto';
import {
  type ClientInfo,
  type Codec,
  type Command,
  clientError,
  type Disconnect,
  DisconnectCode,
  disconnectOf,
  ErrorCode,
  errorMessages,
  isTidingsError,
  type Push,
  type Reply,
  type StreamPosition,
  TidingsErrorCode,
  UnsubscribeCode,
  unsubscribeReasons,
} from '@tidings/protocol';
import type { Credentials } from '../auth/types.js';
import type { StreamPublication } from '../broker/types.js';
import type { TimerHandle } from '../internal/clock.js';
import { FixedDelayQueue } from '../internal/fixed-delay-queue.js';
import { peerClosedCode } from '../observability/metrics.js';
import type { SessionContext, Transport } from '../transport/types.js';
import { ConnectionLimits } from './connection-limits.js';
import type { EncodedPush } from './encoded-push.js';
import type { ConnectingResult, HookClient } from './hooks.js';
import { isHookDisconnect } from './hooks.js';
import type { HubSession } from './hub.js';
import type { NodeContext } from './node-context.js';
import { type ConnectionBuckets, RateLimits } from './rate-limits.js';
import { askRefresh, connectingContext, credentialsOf, runDisconnectHook } from './session-hooks.js';
import { type SubscribeOutcome, SubscriptionManager } from './subscriptions.js';
import { type OverflowListener, SessionWriter } from './writer.js';

/** Lifecycle of a session. */
export type SessionState = 'connecting' | 'connected' | 'closed';

/**
 * One connected client on any transport: the only place protocol semantics live.
 *
 * Contract: commands are processed one at a time in arrival order, so replies keep command
 * order; pongs (empty commands) are handled at once. Every outbound message goes through the
 * bounded writer. `close` is idempotent; after it nothing is written and every subscription,
 * presence entry and timer is released.
 */
export class Session implements HubSession, OverflowListener {
  readonly id: string = randomUUID();
  readonly transport: Transport;
  // Only connect reads the peer context (headers for header-based auth): it is dropped once the
  // session is connected, so an idle session does not keep the upgrade request's headers alive.
  #context: SessionContext | undefined;
  readonly #node: NodeContext;
  readonly #writer: SessionWriter;
  readonly #subs: SubscriptionManager;
  #state: SessionState = 'connecting';
  // From the credentials, only what is read after connect (the channels claim and info, kept
  // in clientInfo, need not stay with every idle session); one object less per session.
  #userId = '';
  #anonymous = true;
  #expireAt: number | undefined;
  // Built on first use (presence, join/leave, client publish) unless the token carried info.
  #clientInfo: ClientInfo | undefined;
  // The command queue's tail; back to the shared settled promise whenever the queue drains, so
  // an idle session holds no promise of its own.
  #chain: Promise<void> = settled;
  #pending = 0;
  readonly #ip: string | undefined;
  readonly #maxRate: number | undefined;
  readonly #delta: 'merge-patch' | undefined;
  readonly #rateBuckets: ConnectionBuckets = {};
  /** True while this session is counted by `ConnectionLimits`. */
  #counted = false;
  #awaitingPong = false;
  // Tickets in the node's shared queues (SessionTimers), 0 when none is pending.
  #pingTicket = 0;
  #pongTicket = 0;
  #connectTicket = 0;
  #expireTimer: TimerHandle | undefined;
  /** When the expiry check runs (clock ms), 0 when the credentials never expire. */
  #expireDue = 0;
  // Hook state: the headers `keepHeaders` selected, the connect hook's meta, and whether expiry
  // is refreshed server-side (credentials from `onConnecting` while `onRefresh` is set).
  #hookHeaders: Readonly<Record<string, string>> = noHeaders;
  #meta: unknown;
  #serverRefresh = false;

  constructor(node: NodeContext, transport: Transport, context: SessionContext = {}) {
    this.#node = node;
    this.#ip = context.remoteAddress;
    this.#maxRate = context.maxRate;
    this.#delta = context.delta;
    this.transport = transport;
    this.#context = context;
    this.#writer = new SessionWriter(
      transport,
      node.scheduler,
      node.client.maxQueueBytes,
      this,
      node.client.pushFraming,
    );
    this.#subs = new SubscriptionManager(node, this);
    this.#connectTicket = Session.#timersOf(node).connect.schedule(this);
  }

  /**
   * The peer context the edge gave (headers, remote address) until a connect command succeeds;
   * undefined from then on.
   */
  get context(): SessionContext | undefined {
    return this.#context;
  }

  static readonly #timers = new WeakMap<NodeContext, SessionTimers>();

  /** One queue per fixed delay per node: a pending ping costs two array slots, not a Timeout. */
  static #timersOf(node: NodeContext): SessionTimers {
    let timers = Session.#timers.get(node);
    if (timers === undefined) {
      const { clock, client } = node;
      timers = {
        connect: new FixedDelayQueue<Session>(clock, client.connectTimeoutMs, (s) => {
          s.#connectTicket = 0;
          if (s.#state === 'connecting') s.close(disconnectOf(DisconnectCode.Stale));
        }),
        ping: new FixedDelayQueue<Session>(clock, client.pingIntervalMs, (s) => {
          s.#pingTicket = 0;
          s.#sendPing();
        }),
        pong: new FixedDelayQueue<Session>(clock, client.pongTimeoutMs, (s) => {
          s.#pongTicket = 0;
          if (s.#awaitingPong) s.close(disconnectOf(DisconnectCode.NoPong));
        }),
      };
      Session.#timers.set(node, timers);
    }
    return timers;
  }

  /** The transport's codec. */
  get codec(): Codec {
    return this.transport.codec;
  }

  get state(): SessionState {
    return this.#state;
  }

  get userId(): string {
    return this.#userId;
  }

  /** True on one-way transports (SSE, HTTP streams): the peer cannot answer pings or resubscribe. */
  get unidirectional(): boolean {
    return this.transport.unidirectional;
  }

  get anonymous(): boolean {
    return this.#anonymous;
  }

  /** ClientInfo attached to this client's publications, joins and leaves. */
  get clientInfo(): ClientInfo {
    if (this.#clientInfo !== undefined) return this.#clientInfo;
    const info: ClientInfo = { user: this.#userId, client: this.id };
    // The user is fixed once connected (a refresh must keep it), so the object can be kept.
    if (this.#state === 'connected') this.#clientInfo = info;
    return info;
  }

  /** What hooks are told about this client. */
  hookClient(): HookClient {
    return {
      client: this.id,
      user: this.#userId,
      transport: this.transport.name,
      protocol: this.codec.name,
      headers: this.#hookHeaders,
      meta: this.#meta,
    };
  }

  /** Number of subscriptions (active or subscribing), without building a list. */
  get numSubscriptions(): number {
    return this.#subs.size;
  }

  /** Outbound bytes waiting: the writer's queue plus what the transport has not flushed yet. */
  get queuedBytes(): number {
    return this.#writer.queuedBytes + this.transport.bufferedBytes;
  }

  /**
   * Whether this connected session may receive `channel` through a wildcard subscription, which
   * has no subscribe command (and so no token or hook call) of its own per channel: the
   * namespace must allow it to subscribe without a token (`allowSubscribeForClient`,
   * `allowSubscribeForAnonymous`, or a user-limited channel naming its user). When an
   * `onSubscribe` hook is configured the answer is false, because only the hook may decide.
   */
  mayReceiveByPattern(channel: string): boolean {
    return this.#state === 'connected' && this.#subs.allowsWithoutToken(channel);
  }

  /** False when an `onSubscribe` hook decides subscriptions: wildcard subscriptions then cannot be served. */
  get mayUsePatterns(): boolean {
    return this.#state === 'connected' && !this.#subs.hooked;
  }

  /** Channels this session is subscribed to (active or subscribing). */
  channels(): string[] {
    return this.#subs.channels();
  }

  /** Decode one transport message and process its commands. Malformed input closes with 3501. */
  handleFrame(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    let commands: Command[];
    try {
      commands = this.codec.decodeCommands(frame);
    } catch (error) {
      this.#node.logger.debug({ client: this.id, err: String(error) }, 'malformed frame');
      this.close(disconnectOf(DisconnectCode.BadRequest));
      return;
    }
    this.handleCommands(commands);
  }

  /** Process decoded commands (used by transports that decode themselves). */
  handleCommands(commands: readonly Command[]): void {
    if (this.#state === 'closed') return;
    if (commands.length > this.#node.client.maxCommandsPerFrame) {
      this.close(disconnectOf(DisconnectCode.BadRequest));
      return;
    }
    for (const command of commands) {
      if (isPong(command)) {
        this.#awaitingPong = false;
        continue;
      }
      // A reply needs an id (id 0 reads as a push to the SDKs): only `send` may go without, as
      // in Centrifugo. Answering id 0 left the client waiting with no reply and no close.
      if (!command.id && command.send === undefined) {
        this.close(disconnectOf(DisconnectCode.BadRequest));
        return;
      }
      if (++this.#pending > this.#node.client.maxPendingCommands) {
        this.close(disconnectOf(DisconnectCode.TooManyRequests));
        return;
      }
      this.#chain = this.#chain.then(() => this.#process(command));
    }
  }

  /** The writer's queue overflowed: disconnect the slow consumer (3008). */
  writerOverflowed(): void {
    this.close(disconnectOf(DisconnectCode.Slow));
  }

  /** The transport saw the peer go away: release everything without writing. */
  transportClosed(): void {
    if (this.#state !== 'closed') this.#node.metrics?.disconnected(this.transport.name, peerClosedCode);
    this.#shutdown(undefined);
  }

  /** Send the disconnect (what is already queued goes first) and release everything. */
  close(disconnect: Disconnect): void {
    if (this.#state === 'closed') return;
    this.#node.metrics?.disconnected(this.transport.name, disconnect.code);
    this.#node.logger.debug({ client: this.id, code: disconnect.code }, 'client disconnected');
    this.#writer.drainAndClose();
    this.transport.close(disconnect);
    this.#shutdown(disconnect);
  }

  // ---- hub delivery (hot path) ----

  deliverPublication(channel: string, pub: StreamPublication, epoch: string, encoded: EncodedPush): void {
    if (this.#state !== 'connected') return;
    const verdict = this.#subs.acceptLive(channel, pub, epoch);
    if (verdict === 'deliver') this.#writer.enqueueShared(encoded);
    else if (verdict === 'insufficient') this.#subs.insufficientState(channel);
    else if (verdict !== 'skip') verdict.deliver(pub, encoded);
  }

  checkPosition(channel: string, top: StreamPosition): void {
    if (this.#state === 'connected') this.#subs.checkPosition(channel, top);
  }

  deliverJoinLeave(channel: string, encoded: EncodedPush): void {
    if (this.#state === 'connected' && this.#subs.wantsJoinLeave(channel)) {
      this.#writer.enqueueShared(encoded);
    }
  }

  // ---- outbound helpers used by subscriptions ----

  /** What the peer asked for outside its subscribe requests (one-way query parameters). */
  #subscribeExtras(): { maxRate?: number; delta?: 'merge-patch' } {
    return {
      ...(this.#maxRate !== undefined ? { maxRate: this.#maxRate } : {}),
      ...(this.#delta !== undefined ? { delta: this.#delta } : {}),
    };
  }

  /** Queue a push shared by many sessions (encoded once per codec). */
  enqueueShared(encoded: EncodedPush): void {
    this.#writer.enqueueShared(encoded);
  }

  /** Queue a push built for this session only. */
  sendPush(push: Push): void {
    this.#writer.enqueue(this.codec.encodePush(push));
  }

  /** Queue a publication push for one channel (used when replaying buffered publications). */
  sendPublication(channel: string, pub: StreamPublication): void {
    this.sendPush({ channel, pub });
  }

  /** Server-side unsubscribe with a push telling the client why. */
  async unsubscribeServer(channel: string, code: number = UnsubscribeCode.Server): Promise<void> {
    if (!this.#subs.has(channel)) return;
    await this.#subs.remove(channel);
    this.sendPush({ channel, unsubscribe: { code, reason: reasonOf(code) } });
  }

  /** Server-side subscribe (server API): subscribes and tells the client with a subscribe push. */
  async subscribeServer(channel: string): Promise<void> {
    if (this.#state !== 'connected' || this.#subs.has(channel)) return;
    const outcome = await this.#subs.subscribe({ channel }, { serverSide: true });
    const r = outcome.result;
    this.sendPush({
      channel,
      subscribe: {
        ...(r.recoverable ? { recoverable: true } : {}),
        ...(r.positioned ? { positioned: true } : {}),
        ...(r.epoch ? { epoch: r.epoch } : {}),
        ...(r.offset ? { offset: r.offset } : {}),
      },
    });
    outcome.activate();
  }

  // ---- command processing ----

  async #process(command: Command): Promise<void> {
    this.#pending--;
    try {
      if (this.#state === 'closed') return;
      const id = command.id ?? 0;
      try {
        if (command.connect !== undefined) return await this.#connect(id, command);
        if (this.#state !== 'connected') {
          this.close(disconnectOf(DisconnectCode.BadRequest));
          return;
        }
        if (!this.#withinRate(command)) throw clientError(ErrorCode.TooManyRequests);
        const reply = await this.#dispatch(command);
        if (reply !== undefined) this.#reply({ id, ...reply });
      } catch (error) {
        this.#replyError(id, error);
      }
    } finally {
      // Nothing queued behind this command: the next one may chain on the shared promise, as
      // this one is done (only the promise wrapping it has yet to settle).
      if (this.#pending === 0) this.#chain = settled;
    }
  }

  #withinRate(command: Command): boolean {
    const limits = RateLimits.of(this.#node);
    const subject = { userId: this.#userId, ip: this.#ip };
    if (!limits.allow('command', subject, this.#rateBuckets)) return false;
    return command.publish === undefined || limits.allow('publish', subject, this.#rateBuckets);
  }

  async #dispatch(command: Command): Promise<Omit<Reply, 'id'> | undefined> {
    if (command.subscribe !== undefined) {
      const outcome = await this.#subs.subscribe(command.subscribe, {
        serverSide: false,
        ...this.#subscribeExtras(),
      });
      this.#reply({ id: command.id ?? 0, subscribe: outcome.result });
      outcome.activate();
      return undefined;
    }
    if (command.unsubscribe !== undefined) {
      await this.#subs.remove(command.unsubscribe.channel);
      return { unsubscribe: {} };
    }
    if (command.publish !== undefined) {
      await this.#subs.publish(command.publish.channel, command.publish.data, command.publish.idempotencyKey);
      return { publish: {} };
    }
    if (command.history !== undefined) return { history: await this.#subs.history(command.history) };
    if (command.presence !== undefined) return { presence: await this.#subs.presence(command.presence.channel) };
    if (command.presenceStats !== undefined) {
      return { presenceStats: await this.#subs.presenceStats(command.presenceStats.channel) };
    }
    if (command.subRefresh !== undefined) return { subRefresh: await this.#subs.refresh(command.subRefresh) };
    if (command.refresh !== undefined) return { refresh: await this.#refresh(command.refresh.token) };
    if (command.ping !== undefined) return { ping: {} };
    if (command.send !== undefined) return undefined;
    const onRpc = this.#node.hooks.onRpc;
    if (command.rpc !== undefined && onRpc !== undefined) {
      const { method = '', data = empty } = command.rpc;
      const result = await onRpc({ ...this.hookClient(), method, data });
      return { rpc: result.data !== undefined && result.data.length > 0 ? { data: result.data } : {} };
    }
    // No RPC handler is configured, and anything else is a command this server does not know.
    throw clientError(ErrorCode.MethodNotFound);
  }

  async #connect(id: number, command: Command): Promise<void> {
    if (this.#state !== 'connecting') {
      this.close(disconnectOf(DisconnectCode.BadRequest));
      return;
    }
    const request = command.connect ?? {};
    const context = this.#context ?? {};
    let credentials: Credentials;
    let hooked: ConnectingResult | undefined;
    const hooks = this.#node.hooks;
    try {
      hooked = await hooks.onConnecting?.(connectingContext(this.id, this.transport, request, context));
    } catch (error) {
      this.#hookFailed(id, error);
      return;
    }
    try {
      credentials =
        hooked !== undefined
          ? credentialsOf(hooked)
          : await this.#node.authenticator.authenticate({
              ...(request.token ? { token: request.token } : {}),
              ...(context.headers ? { headers: context.headers } : {}),
              ...(context.remoteAddress ? { remoteAddress: context.remoteAddress } : {}),
            });
    } catch (error) {
      this.#authFailed(id, error);
      return;
    }
    if (this.#state !== 'connecting') return;
    if (hooks.keepHeaders !== undefined && context.headers !== undefined) {
      this.#hookHeaders = Object.freeze(hooks.keepHeaders(context.headers));
    }
    this.#meta = hooked?.meta;
    this.#serverRefresh = hooked !== undefined && hooks.onRefresh !== undefined;
    // Kept until now: a client answered 109 (token expired) may send connect again.
    this.#context = undefined;
    this.#userId = credentials.userId;
    this.#anonymous = credentials.anonymous;
    this.#expireAt = credentials.expireAt;
    this.#clientInfo = credentials.info
      ? { user: credentials.userId, client: this.id, connInfo: credentials.info }
      : undefined;
    if (!ConnectionLimits.of(this.#node).acquire(credentials.userId, this.#ip)) {
      this.close(disconnectOf(DisconnectCode.ConnectionLimit));
      return;
    }
    this.#counted = true;
    this.#state = 'connected';
    this.#cancel('connect');
    this.#node.hub.addSession(this);
    this.#node.logger.debug(
      { client: this.id, user: this.#userId, transport: this.transport.name },
      'client connected',
    );

    // Server-side subscriptions: the token's channels plus any the client asks to recover.
    const outcomes: Array<[string, SubscribeOutcome]> = [];
    const wanted = new Set([...credentials.channels, ...Object.keys(request.subs ?? {})]);
    for (const channel of wanted) {
      if (!credentials.channels.includes(channel)) continue;
      try {
        const recover = request.subs?.[channel];
        outcomes.push([
          channel,
          await this.#subs.subscribe({ ...recover, channel }, { serverSide: true, ...this.#subscribeExtras() }),
        ]);
      } catch (error) {
        this.#node.logger.warn({ client: this.id, channel, err: String(error) }, 'server-side subscription failed');
      }
    }
    if (this.#state !== 'connected') return;
    // A server-side refresh is invisible to the client: it is not asked for a new token.
    const ttl = this.#serverRefresh ? undefined : this.#ttlSeconds(credentials.expireAt);
    this.#reply({
      id,
      connect: {
        client: this.id,
        version: this.#node.version,
        ...(hooked?.data !== undefined && hooked.data.length > 0 ? { data: hooked.data } : {}),
        // One-way peers cannot pong; their transport sends its own heartbeats instead.
        ...(this.transport.unidirectional
          ? {}
          : { ping: Math.round(this.#node.client.pingIntervalMs / 1000), pong: true }),
        ...(ttl !== undefined ? { expires: true, ttl } : {}),
        ...(this.transport.emulationSession !== undefined
          ? { session: this.transport.emulationSession, node: this.#node.nodeId }
          : {}),
        ...(outcomes.length > 0 ? { subs: Object.fromEntries(outcomes.map(([ch, o]) => [ch, o.result])) } : {}),
      },
    });
    for (const [, outcome] of outcomes) outcome.activate();
    if (!this.transport.unidirectional) this.#schedulePing();
    this.#scheduleExpiry(credentials.expireAt);
  }

  async #refresh(token: string): Promise<NonNullable<Reply['refresh']>> {
    let credentials: Credentials;
    try {
      credentials = await this.#node.authenticator.authenticate({ token });
    } catch (error) {
      if (isTidingsError(error) && error.wireCode === ErrorCode.TokenExpired) throw error;
      this.close(disconnectOf(DisconnectCode.InvalidToken));
      throw error;
    }
    if (credentials.userId !== this.userId) {
      this.close(disconnectOf(DisconnectCode.InvalidToken));
      throw clientError(ErrorCode.PermissionDenied);
    }
    if (credentials.expireAt !== undefined) this.#expireAt = credentials.expireAt;
    this.#scheduleExpiry(credentials.expireAt);
    const ttl = this.#ttlSeconds(credentials.expireAt);
    return { client: this.id, version: this.#node.version, ...(ttl !== undefined ? { expires: true, ttl } : {}) };
  }

  /**
   * The connect hook refused or failed: its reply error (100 for a failing backend) goes to the
   * client, which the SDKs answer by reconnecting after temporary errors; a `HookDisconnect` closes.
   */
  #hookFailed(id: number, error: unknown): void {
    if (isHookDisconnect(error)) this.close(error.disconnect);
    else this.#replyError(id, error);
  }

  #authFailed(id: number, error: unknown): void {
    if (isTidingsError(error) && error.wireCode === ErrorCode.TokenExpired) {
      this.#replyError(id, error);
      return;
    }
    this.#node.logger.debug({ err: isTidingsError(error) ? error.message : String(error) }, 'connect rejected');
    this.close(disconnectOf(DisconnectCode.InvalidToken));
  }

  #ttlSeconds(expireAt: number | undefined): number | undefined {
    if (expireAt === undefined) return undefined;
    return Math.max(1, Math.ceil(expireAt - this.#node.clock.now() / 1000));
  }

  #scheduleExpiry(expireAt: number | undefined): void {
    if (this.#expireTimer !== undefined) this.#node.clock.clearTimeout(this.#expireTimer);
    this.#expireTimer = undefined;
    this.#expireDue = 0;
    if (expireAt === undefined) return;
    const now = this.#node.clock.now();
    // A server-side refresh runs at expiry; a client gets a grace to send its new token.
    const grace = this.#serverRefresh ? 0 : this.#node.client.expiredCloseDelayMs;
    this.#expireDue = now + Math.max(0, expireAt * 1000 - now) + grace;
    this.#armExpiry();
  }

  /**
   * Arms the expiry timer once the check is due within one ping interval. A pinged session
   * re-arms from every ping, so a token valid for hours holds no Timeout until its last interval.
   */
  #armExpiry(): void {
    if (this.#expireDue === 0 || this.#expireTimer !== undefined) return;
    const delay = Math.max(0, this.#expireDue - this.#node.clock.now());
    if (this.#pingTicket !== 0 && delay > this.#node.client.pingIntervalMs) return;
    this.#expireTimer = this.#node.clock.setTimeout(() => {
      this.#expireTimer = undefined;
      const now = this.#node.clock.now();
      // Node can fire a timer before Date.now() reaches its deadline (it counts from the event
      // loop's cached time): then the check is not due yet, so it is armed again for the rest.
      if (now < this.#expireDue) return this.#armExpiry();
      this.#expireDue = 0;
      const current = this.#expireAt;
      if (current === undefined) return;
      if (current * 1000 > now) return this.#scheduleExpiry(current);
      if (this.#serverRefresh) this.#refreshServerSide();
      else this.close(disconnectOf(DisconnectCode.Expired));
    }, delay);
  }

  /** Asks `onRefresh` for a new expiry; queued with the commands, so hooks stay in order. */
  #refreshServerSide(): void {
    const onRefresh = this.#node.hooks.onRefresh;
    if (onRefresh === undefined || this.#state !== 'connected') return;
    this.#pending++;
    this.#chain = this.#chain.then(async () => {
      this.#pending--;
      const retryAt = (this.#node.clock.now() + this.#node.client.pingIntervalMs) / 1000;
      const verdict = await askRefresh(onRefresh, this.hookClient(), retryAt, this.#node.logger);
      if (this.#pending === 0) this.#chain = settled;
      if (this.#state !== 'connected') return;
      if (verdict.kind === 'expired') this.close(disconnectOf(DisconnectCode.Expired));
      else if (verdict.kind === 'disconnect') this.close(verdict.disconnect);
      else {
        if (verdict.info !== undefined)
          this.#clientInfo = { user: this.#userId, client: this.id, connInfo: verdict.info };
        this.#expireAt = verdict.expireAt;
        this.#scheduleExpiry(verdict.expireAt);
      }
    });
  }

  #schedulePing(): void {
    this.#pingTicket = Session.#timersOf(this.#node).ping.schedule(this);
  }

  #cancel(which: keyof SessionTimers): void {
    const timers = Session.#timersOf(this.#node);
    if (which === 'connect' && this.#connectTicket !== 0) timers.connect.cancel(this.#connectTicket);
    else if (which === 'ping' && this.#pingTicket !== 0) timers.ping.cancel(this.#pingTicket);
    else if (which === 'pong' && this.#pongTicket !== 0) timers.pong.cancel(this.#pongTicket);
    if (which === 'connect') this.#connectTicket = 0;
    else if (which === 'ping') this.#pingTicket = 0;
    else this.#pongTicket = 0;
  }

  #sendPing(): void {
    if (this.#state !== 'connected') return;
    // Protocol v2: an empty reply is a ping; the client answers with an empty command.
    // Awaiting the pong before the ping is queued: an in-process transport (the MQTT edge)
    // answers inside its write, and a writer that wrote at once would otherwise see the pong
    // before the session waits for it.
    this.#awaitingPong = true;
    this.#cancel('pong');
    this.#pongTicket = Session.#timersOf(this.#node).pong.schedule(this);
    this.#reply({});
    this.#schedulePing();
    this.#armExpiry();
  }

  #reply(reply: Reply): void {
    this.#writer.enqueue(this.codec.encodeReply(reply));
  }

  #replyError(id: number, error: unknown): void {
    if (this.#state === 'closed') return;
    if (isTidingsError(error) && error.wireCode !== undefined) {
      this.#reply({
        id,
        error: { code: error.wireCode, message: error.message, ...(error.temporary ? { temporary: true } : {}) },
      });
      return;
    }
    const unavailable = isTidingsError(error) && error.code === TidingsErrorCode.Unavailable;
    if (!unavailable) this.#node.logger.error({ client: this.id, err: String(error) }, 'command failed');
    const internal = errorMessages[ErrorCode.Internal];
    this.#reply({ id, error: { code: ErrorCode.Internal, message: internal.message, temporary: true } });
  }

  #shutdown(disconnect: Disconnect | undefined): void {
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    this.#writer.close();
    this.#cancel('connect');
    this.#cancel('ping');
    this.#cancel('pong');
    if (this.#expireTimer !== undefined) this.#node.clock.clearTimeout(this.#expireTimer);
    this.#expireTimer = undefined;
    this.#subs.releaseAll();
    if (wasConnected) this.#node.hub.removeSession(this);
    if (wasConnected && this.#node.hooks.onDisconnect !== undefined) {
      const ctx = { ...this.hookClient(), ...(disconnect !== undefined ? { disconnect } : {}) };
      runDisconnectHook(this.#node.hooks, ctx, this.#node.logger);
    }
    if (this.#counted) ConnectionLimits.of(this.#node).release(this.#userId, this.#ip);
    this.#counted = false;
  }
}

const empty = new Uint8Array(0);
const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

/** The command queue's tail while it is empty, shared by every session. */
const settled: Promise<void> = Promise.resolve();

/** A node's shared fixed-delay session timers. */
interface SessionTimers {
  readonly connect: FixedDelayQueue<Session>;
  readonly ping: FixedDelayQueue<Session>;
  readonly pong: FixedDelayQueue<Session>;
}

function isPong(command: Command): boolean {
  for (const key in command) {
    if ((command as Record<string, unknown>)[key] !== undefined && key !== 'id') return false;
  }
  return !command.id;
}

function reasonOf(code: number): string {
  return (unsubscribeReasons as Record<number, string>)[code] ?? 'server unsubscribe';
}
