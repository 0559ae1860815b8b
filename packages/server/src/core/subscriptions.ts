import {
  type ClientInfo,
  clientError,
  type Disconnect,
  DisconnectCode,
  disconnectOf,
  ErrorCode,
  type HistoryRequest,
  type HistoryResult,
  isTidingsError,
  type PresenceStatsResult,
  type Push,
  type StreamPosition,
  type SubRefreshRequest,
  type SubRefreshResult,
  type SubscribeRequest,
  type SubscribeResult,
  UnsubscribeCode,
  unsubscribeReasons,
} from '@tidings/protocol';
import type { StateEntry, StreamPublication } from '../broker/types.js';
import type { TimerHandle } from '../internal/clock.js';
import { type NamespaceOptions, userLimitedUsers } from './channel-options.js';
import { DeliveryGate, type DeltaKind, type GateOptions, type GateOutput } from './delivery-gate.js';
import type { HookClient } from './hooks.js';
import type { HubSession } from './hub.js';
import type { NodeContext } from './node-context.js';
import { recoverFromHistory } from './recovery.js';
import { askRefresh } from './session-hooks.js';
import { snapshotPublications, stateKeyOf } from './state-channel.js';

/** What the subscription manager needs from its session. */
export interface SubscriberSession extends HubSession, GateOutput {
  readonly anonymous: boolean;
  /** A one-way peer cannot resubscribe, so insufficient state closes it (3010) to resume. */
  readonly unidirectional: boolean;
  readonly clientInfo: ClientInfo;
  readonly state: 'connecting' | 'connected' | 'closed';
  sendPush(push: Push): void;
  /** What hooks are told about this client. */
  hookClient(): HookClient;
  sendPublication(channel: string, pub: StreamPublication): void;
  close(disconnect: Disconnect): void;
}

/**
 * What happens to a live publication arriving for a subscription: a gate means "deliver through
 * this subscription's gate" (rate, conflation, delta).
 */
export type LiveVerdict = 'deliver' | 'skip' | 'insufficient' | DeliveryGate;

/** How a subscribe is asked for. */
export interface SubscribeMode {
  /** Made by the server (token channels, server API), not by a subscribe command. */
  readonly serverSide: boolean;
  /** Updates a second the client asked for by other means than the request (one-way `?maxRate=`). */
  readonly maxRate?: number;
  /** Delta encoding a one-way peer asked for (`?delta=merge-patch`). */
  readonly delta?: 'merge-patch';
}

interface Subscription {
  /** The hub's string for the channel (`Hub.addSubscriber`), shared by its subscribers. */
  readonly channel: string;
  readonly options: NamespaceOptions;
  readonly positioned: boolean;
  readonly joinLeave: boolean;
  readonly chanInfo: Uint8Array | undefined;
  /** Live publications that arrived while the subscribe was reading history; null once active. */
  buffer: Array<{ pub: StreamPublication; epoch: string }> | null;
  bufferOverflow: boolean;
  epoch: string;
  offset: number;
  expireAt: number | undefined;
  /** Granted by `onSubscribe` while `onSubRefresh` is set: expiry is refreshed server-side. */
  serverRefresh: boolean;
  chanInfoOverride?: Uint8Array;
  /** Rate, slow-consumer policy or delta: publications leave through it; undefined: shared fan-out. */
  gate: DeliveryGate | undefined;
  /**
   * State channels: per key, the offset of the document the snapshot gave; a live publication
   * not newer than it is already known. Dropped once the stream passes the newest of them.
   */
  stateFloor: { readonly byKey: Map<string, number>; readonly max: number } | undefined;
  expireTimer: TimerHandle | undefined;
  presenceTimer: TimerHandle | undefined;
}

/** A prepared subscription: send `result` to the client, then call `activate`. */
export interface SubscribeOutcome {
  readonly result: SubscribeResult;
  /** Flushes publications buffered during the subscribe and switches to live delivery. */
  activate(): void;
}

/**
 * A session's subscriptions: permission checks, race-free recovery and live positioning.
 *
 * Recovery is race-free: the subscription joins the hub (buffering) before history is read, so a
 * publication arriving during the read is either in the history result or in the buffer; after
 * the reply, buffered publications beyond the returned position are sent, duplicates dropped.
 * A positioned subscription that sees an offset gap or an epoch change is unsubscribed with
 * 2500 (insufficient state) so the client resubscribes and recovers: never a silent skip.
 */
export class SubscriptionManager {
  readonly #node: NodeContext;
  readonly #session: SubscriberSession;
  // Most sessions hold one subscription: it sits in a slot, and a Map (~220 bytes even with one
  // entry) is made only for the second. Invariant: #rest is empty while #first is undefined, and
  // #first is the oldest, so [#first, ...#rest] keeps subscription order.
  #first: Subscription | undefined;
  #rest: Map<string, Subscription> | undefined;

  constructor(node: NodeContext, session: SubscriberSession) {
    this.#node = node;
    this.#session = session;
  }

  has(channel: string): boolean {
    return this.#get(channel) !== undefined;
  }

  channels(): string[] {
    return this.#all().map((sub) => sub.channel);
  }

  wantsJoinLeave(channel: string): boolean {
    return this.#get(channel)?.joinLeave === true;
  }

  /** Hot path: decide what to do with a live publication. */
  acceptLive(channel: string, pub: StreamPublication, epoch: string): LiveVerdict {
    const sub = this.#get(channel);
    if (sub === undefined) return 'skip';
    if (sub.buffer !== null) {
      if (sub.buffer.length >= this.#node.client.maxRecoveryBuffer) sub.bufferOverflow = true;
      else sub.buffer.push({ pub, epoch });
      return 'skip';
    }
    if (!sub.positioned) return sub.gate ?? 'deliver';
    if (epoch !== sub.epoch || pub.offset > sub.offset + 1) return 'insufficient';
    if (pub.offset <= sub.offset) return 'skip';
    sub.offset = pub.offset;
    if (sub.stateFloor !== undefined && knownFromSnapshot(sub, pub)) return 'skip';
    return sub.gate ?? 'deliver';
  }

  /**
   * After a possible delivery gap (broker reconnect): a positioned subscription behind `top` or
   * on another epoch goes through insufficient state, so the client recovers from history. A
   * publication still in flight can make this fire needlessly; that costs a resubscribe, never
   * a loss. Subscriptions that are not positioned cannot detect gaps (documented at-most-once).
   */
  checkPosition(channel: string, top: StreamPosition): void {
    const sub = this.#get(channel);
    if (sub === undefined || !sub.positioned || sub.buffer !== null) return;
    if (top.epoch !== sub.epoch || top.offset > sub.offset) this.insufficientState(channel);
  }

  /**
   * Unsubscribe with 2500 so the client resubscribes from its last position; a one-way session
   * is closed with 3010 instead, and its client resumes from its cursor on reconnect.
   */
  insufficientState(channel: string): void {
    if (!this.has(channel)) return;
    if (this.#session.unidirectional) {
      this.#session.close(disconnectOf(DisconnectCode.InsufficientState));
      return;
    }
    void this.remove(channel);
    const code = UnsubscribeCode.InsufficientState;
    this.#session.sendPush({ channel, unsubscribe: { code, reason: unsubscribeReasons[code] } });
  }

  async subscribe(request: SubscribeRequest, mode: SubscribeMode): Promise<SubscribeOutcome> {
    const channel = request.channel ?? '';
    const { options } = this.#node.rules.resolve(channel);
    if (this.has(channel)) throw clientError(ErrorCode.AlreadySubscribed);
    if (this.#size() >= this.#node.client.maxSubscriptions) throw clientError(ErrorCode.LimitExceeded);
    let expireAt: number | undefined;
    let chanInfo: Uint8Array | undefined;
    let data: Uint8Array | undefined;
    let serverRefresh = false;
    if (!mode.serverSide) {
      const grant = await this.#authorize(channel, options, request);
      expireAt = grant.expireAt;
      chanInfo = grant.info;
      data = grant.data;
      serverRefresh = grant.hooked === true && this.#node.hooks.onSubRefresh !== undefined;
    }
    if (this.has(channel)) throw clientError(ErrorCode.AlreadySubscribed);
    if (this.#session.state !== 'connected') throw clientError(ErrorCode.NotAvailable);

    const hasHistory = options.historySize > 0 && options.historyTtlMs > 0;
    const recoverable =
      hasHistory &&
      (options.forceRecovery || (options.allowRecovery && (request.recoverable === true || request.recover === true)));
    // State channels are positioned: a gap unsubscribes (2500) and the resubscribe gets a snapshot.
    const positioned =
      recoverable ||
      options.state ||
      options.forcePositioning ||
      (options.allowPositioning && request.positioned === true);
    const gateOptions = this.#gateOptions(options, request, mode);
    const sub: Subscription = {
      channel: this.#node.hub.addSubscriber(channel, this.#session),
      options,
      positioned,
      joinLeave: options.forcePushJoinLeave || (options.joinLeave && request.joinLeave === true),
      chanInfo,
      buffer: [],
      bufferOverflow: false,
      epoch: '',
      offset: 0,
      expireAt,
      serverRefresh,
      gate: undefined,
      stateFloor: undefined,
      expireTimer: undefined,
      presenceTimer: undefined,
    };
    if (!DeliveryGate.needless(gateOptions)) {
      sub.gate = new DeliveryGate(sub.channel, this.#session, this.#node.clock, gateOptions);
    }
    this.#add(sub);

    const result: SubscribeResult = data !== undefined && data.length > 0 ? { data } : {};
    try {
      await this.#node.ensureChannel(channel);
      if (positioned) {
        const wantsRecovery = recoverable && request.recover === true;
        if (wantsRecovery) {
          const since = { offset: request.offset ?? 0, epoch: request.epoch ?? '' };
          const read = await this.#node.readHistory(channel, { since, limit: options.historySize });
          const outcome = recoverFromHistory(since, read);
          this.#node.metrics?.recovery(outcome.result);
          result.wasRecovering = true;
          result.recovered = outcome.recovered;
          if (outcome.publications.length > 0) result.publications = [...outcome.publications];
          sub.epoch = outcome.position.epoch;
          sub.offset = outcome.position.offset;
        } else {
          const top = await this.#node.readHistory(channel, { limit: 0 });
          sub.epoch = top.epoch;
          sub.offset = top.offset;
        }
        result.epoch = sub.epoch;
        if (sub.offset > 0) result.offset = sub.offset;
        result.positioned = true;
        if (recoverable) result.recoverable = true;
      }
      if (options.state && result.recovered !== true) {
        // Read after the top position: a document newer than it is also buffered live, and the
        // floor keeps it from being sent twice.
        const entries = await this.#readSnapshot(channel, sub.epoch, sub.offset);
        if (entries.length > 0) {
          result.publications = snapshotPublications(entries, { epoch: sub.epoch, offset: sub.offset });
          const byKey = new Map(entries.map((e) => [e.key, e.epoch === sub.epoch ? e.offset : 0]));
          const max = Math.max(...byKey.values());
          if (max > sub.offset) sub.stateFloor = { byKey, max };
        } else delete result.publications;
      }
      if (sub.gate !== undefined && gateOptions.delta !== undefined) {
        if (gateOptions.delta === 'fossil') result.delta = true;
        if (result.publications !== undefined) {
          result.publications = sub.gate.prepareReplyPublications(result.publications);
        }
      }
    } catch (error) {
      if (this.#get(channel) === sub) await this.remove(channel);
      throw isTidingsError(error) && error.wireCode !== undefined ? error : clientError(ErrorCode.Internal);
    }
    if (this.#get(channel) !== sub) throw clientError(ErrorCode.NotAvailable);

    if (expireAt !== undefined && !serverRefresh) {
      result.expires = true;
      result.ttl = Math.max(1, Math.ceil(expireAt - this.#node.clock.now() / 1000));
    }
    this.#startPresence(sub);
    return { result, activate: () => this.#activate(sub) };
  }

  async remove(channel: string): Promise<void> {
    const sub = this.#get(channel);
    if (sub === undefined) return;
    this.#release(sub);
    await this.#leave(sub);
  }

  /** Release every subscription (session closing); presence removal and leaves run in the background. */
  releaseAll(): void {
    for (const sub of this.#all()) {
      this.#release(sub);
      void this.#leave(sub);
    }
  }

  /**
   * A client publish. With `idempotencyKey` (at most 256 characters, else 107; empty is "not set") it goes through the
   * engine's idempotency dedupe (as the HTTP API's keys do), scoped to the user: the key becomes
   * `client:<user>:<key>`, so it never meets an API key or another user's key.
   */
  async publish(channel: string, data: Uint8Array, idempotencyKey?: string): Promise<void> {
    if (idempotencyKey !== undefined && idempotencyKey.length > 256) {
      throw clientError(ErrorCode.BadRequest, 'idempotency_key: expected 1 to 256 characters');
    }
    const { options } = this.#node.rules.resolve(channel);
    const hooked = await this.#node.hooks.onPublish?.({ ...this.#session.hookClient(), channel, data });
    if (hooked === undefined) {
      const allowed = this.#session.anonymous
        ? options.allowPublishForAnonymous
        : options.allowPublishForClient || (options.allowPublishForSubscriber && this.has(channel));
      if (!allowed) throw clientError(ErrorCode.PermissionDenied);
    }
    await this.#node.publish(channel, hooked?.data ?? data, {
      info: this.#infoFor(channel),
      source: 'client',
      ...(hooked?.skipHistory === true ? { skipHistory: true } : {}),
      ...(idempotencyKey === undefined
        ? {}
        : { idempotencyKey: `client:${this.#session.clientInfo.user}:${idempotencyKey}` }),
    });
  }

  async history(request: HistoryRequest): Promise<HistoryResult> {
    const { options } = this.#node.rules.resolve(request.channel);
    const allowed = this.#session.anonymous
      ? options.allowHistoryForAnonymous
      : options.allowHistoryForClient || (options.allowHistoryForSubscriber && this.has(request.channel));
    if (!allowed) throw clientError(ErrorCode.PermissionDenied);
    const read = await this.#node.history(request.channel, {
      limit: request.limit ?? 0,
      ...(request.since !== undefined ? { since: request.since } : {}),
      ...(request.reverse ? { reverse: true } : {}),
    });
    return { publications: [...read.publications], epoch: read.epoch, offset: read.offset };
  }

  async presence(channel: string): Promise<{ presence: Record<string, ClientInfo> }> {
    this.#checkPresence(channel);
    return { presence: await this.#node.presence(channel) };
  }

  async presenceStats(channel: string): Promise<PresenceStatsResult> {
    this.#checkPresence(channel);
    return this.#node.presenceStats(channel);
  }

  async refresh(request: SubRefreshRequest): Promise<SubRefreshResult> {
    const sub = this.#get(request.channel);
    if (sub === undefined) throw clientError(ErrorCode.PermissionDenied);
    const grant = await this.#verifyToken(request.token, request.channel);
    sub.expireAt = grant.expireAt;
    this.#scheduleExpiry(sub);
    if (grant.expireAt === undefined) return {};
    return { expires: true, ttl: Math.max(1, Math.ceil(grant.expireAt - this.#node.clock.now() / 1000)) };
  }

  /**
   * The state snapshot, read after the top position. A publication is stored in the state store
   * just after the broker fanned it out, so a snapshot read in between lacks the top's document:
   * while no entry of this epoch has reached the top offset, read again a few times (10 ms
   * apart). A removed or expired key can keep it short of the top; then the last read is used.
   */
  async #readSnapshot(channel: string, epoch: string, top: number): Promise<StateEntry[]> {
    let entries = await this.#node.readState(channel);
    for (let attempt = 0; attempt < 5 && top > 0; attempt++) {
      if (entries.some((e) => e.epoch === epoch && e.offset >= top)) break;
      await new Promise<void>((resolve) => this.#node.clock.setTimeout(resolve, 10));
      entries = await this.#node.readState(channel);
    }
    return entries;
  }

  #gateOptions(options: NamespaceOptions, request: SubscribeRequest, mode: SubscribeMode): GateOptions {
    const delta = request.delta ?? '';
    if (delta !== '' && delta !== 'fossil') throw clientError(ErrorCode.BadRequest, 'unknown delta type');
    const codec = this.#session.codec.name;
    const rate = effectiveRate(options.maxRate, mode.maxRate ?? rateFromData(request.data));
    return {
      intervalMs: rate > 0 ? 1000 / rate : 0,
      slowConsumer: options.slowConsumer,
      slowBytes: Math.floor(this.#node.client.maxQueueBytes / 2),
      delta: this.#deltaKind(delta, options, codec, mode),
    };
  }

  /** Fossil for bidirectional JSON/Protobuf peers that ask; merge patch for one-way peers that ask. */
  #deltaKind(asked: string, options: NamespaceOptions, codec: string, mode: SubscribeMode): DeltaKind | undefined {
    if (!options.allowDelta) return undefined;
    if (this.#session.unidirectional) return mode.delta === 'merge-patch' ? 'merge-patch' : undefined;
    return asked === 'fossil' && (codec === 'json' || codec === 'protobuf') ? 'fossil' : undefined;
  }

  #checkPresence(channel: string): void {
    const { options } = this.#node.rules.resolve(channel);
    const allowed = this.#session.anonymous
      ? options.allowPresenceForAnonymous
      : options.allowPresenceForClient || (options.allowPresenceForSubscriber && this.has(channel));
    if (!allowed) throw clientError(ErrorCode.PermissionDenied);
  }

  /** True when an `onSubscribe` hook decides every subscription. */
  get hooked(): boolean {
    return this.#node.hooks.onSubscribe !== undefined;
  }

  /** The permission rules of `#authorize` that need no token and no hook (see `Session.mayReceiveByPattern`). */
  allowsWithoutToken(channel: string): boolean {
    if (this.#node.hooks.onSubscribe !== undefined) return false;
    let options: NamespaceOptions;
    try {
      options = this.#node.rules.resolve(channel).options;
    } catch {
      return false;
    }
    const limited = options.allowUserLimitedChannels ? userLimitedUsers(channel) : undefined;
    if (limited !== undefined && !this.#session.anonymous && limited.includes(this.#session.userId)) return true;
    return this.#session.anonymous ? options.allowSubscribeForAnonymous : options.allowSubscribeForClient;
  }

  async #authorize(channel: string, options: NamespaceOptions, request: SubscribeRequest): Promise<Grant> {
    const { token, data } = request;
    const hooked = await this.#node.hooks.onSubscribe?.({
      ...this.#session.hookClient(),
      channel,
      ...(token ? { token } : {}),
      ...(data !== undefined ? { data } : {}),
    });
    if (hooked !== undefined) return { ...hooked, hooked: true };
    if (token) return this.#verifyToken(token, channel);
    const limited = options.allowUserLimitedChannels ? userLimitedUsers(channel) : undefined;
    if (limited !== undefined && !this.#session.anonymous && limited.includes(this.#session.userId)) return {};
    const allowed = this.#session.anonymous ? options.allowSubscribeForAnonymous : options.allowSubscribeForClient;
    if (!allowed) throw clientError(ErrorCode.PermissionDenied);
    return {};
  }

  async #verifyToken(token: string, channel: string) {
    try {
      return await this.#node.authenticator.verifySubscriptionToken(token, {
        client: this.#session.id,
        userId: this.#session.userId,
        channel,
      });
    } catch (error) {
      if (isTidingsError(error) && error.wireCode === ErrorCode.TokenExpired) throw error;
      if (isTidingsError(error) && error.wireCode === ErrorCode.PermissionDenied) throw error;
      // A forged or malformed subscription token ends the connection, as for connection tokens.
      this.#session.close(disconnectOf(DisconnectCode.InvalidToken));
      throw clientError(ErrorCode.Unauthorized);
    }
  }

  #activate(sub: Subscription): void {
    if (this.#get(sub.channel) !== sub || sub.buffer === null) return;
    const buffered = sub.buffer;
    sub.buffer = null;
    if (sub.bufferOverflow) {
      this.insufficientState(sub.channel);
      return;
    }
    for (const { pub, epoch } of buffered) {
      if (sub.positioned) {
        if (epoch !== sub.epoch || pub.offset > sub.offset + 1) {
          this.insufficientState(sub.channel);
          return;
        }
        if (pub.offset <= sub.offset) continue;
        sub.offset = pub.offset;
        if (sub.stateFloor !== undefined && knownFromSnapshot(sub, pub)) continue;
      }
      if (sub.gate !== undefined) sub.gate.deliver(pub, undefined);
      else this.#session.sendPublication(sub.channel, pub);
    }
    this.#scheduleExpiry(sub);
  }

  #scheduleExpiry(sub: Subscription): void {
    if (sub.expireTimer !== undefined) this.#node.clock.clearTimeout(sub.expireTimer);
    sub.expireTimer = undefined;
    if (sub.expireAt === undefined) return;
    const grace = sub.serverRefresh ? 0 : this.#node.client.expiredCloseDelayMs;
    this.#armExpiry(sub, Math.max(this.#node.clock.now(), sub.expireAt * 1000) + grace);
  }

  #armExpiry(sub: Subscription, due: number): void {
    sub.expireTimer = this.#node.clock.setTimeout(
      () => {
        sub.expireTimer = undefined;
        if (this.#get(sub.channel) !== sub || sub.expireAt === undefined) return;
        const now = this.#node.clock.now();
        // Node can fire a timer before Date.now() reaches its deadline (it counts from the event
        // loop's cached time): then it is not due yet, so it is armed again for the rest.
        if (now < due) return this.#armExpiry(sub, due);
        if (sub.expireAt * 1000 > now) return this.#scheduleExpiry(sub);
        if (sub.serverRefresh) {
          void this.#refreshServerSide(sub);
          return;
        }
        const code = UnsubscribeCode.Expired;
        void this.remove(sub.channel);
        this.#session.sendPush({ channel: sub.channel, unsubscribe: { code, reason: unsubscribeReasons[code] } });
      },
      Math.max(0, due - this.#node.clock.now()),
    );
  }

  /** `onSubRefresh` decides at expiry: a new expiry, or the subscription ends with 2501. */
  async #refreshServerSide(sub: Subscription): Promise<void> {
    const onSubRefresh = this.#node.hooks.onSubRefresh;
    if (onSubRefresh === undefined) return;
    const retryAt = (this.#node.clock.now() + this.#node.client.pingIntervalMs) / 1000;
    const ctx = { ...this.#session.hookClient(), channel: sub.channel };
    const verdict = await askRefresh(onSubRefresh, ctx, retryAt, this.#node.logger);
    if (this.#get(sub.channel) !== sub) return;
    if (verdict.kind === 'disconnect') return this.#session.close(verdict.disconnect);
    if (verdict.kind === 'extend') {
      sub.expireAt = verdict.expireAt;
      if (verdict.info !== undefined) sub.chanInfoOverride = verdict.info;
      this.#scheduleExpiry(sub);
      return;
    }
    const code = UnsubscribeCode.Expired;
    void this.remove(sub.channel);
    this.#session.sendPush({ channel: sub.channel, unsubscribe: { code, reason: unsubscribeReasons[code] } });
  }

  #startPresence(sub: Subscription): void {
    const { options } = sub;
    if (options.presence) {
      const refresh = () => {
        if (this.#get(sub.channel) !== sub) return;
        this.#node.presenceStore
          .add(sub.channel, this.#session.id, this.#infoFor(sub.channel), this.#node.client.presenceTtlMs)
          .catch((error: unknown) => this.#node.logger.warn({ err: String(error) }, 'presence update failed'));
        sub.presenceTimer = this.#node.clock.setTimeout(refresh, this.#node.client.presenceRefreshMs);
      };
      refresh();
    }
    if (options.joinLeave || options.forcePushJoinLeave) {
      this.#node
        .publishJoin(sub.channel, this.#infoFor(sub.channel))
        .catch((error: unknown) => this.#node.logger.warn({ err: String(error) }, 'join publish failed'));
    }
  }

  #release(sub: Subscription): void {
    this.#delete(sub);
    sub.gate?.close();
    if (sub.expireTimer !== undefined) this.#node.clock.clearTimeout(sub.expireTimer);
    if (sub.presenceTimer !== undefined) this.#node.clock.clearTimeout(sub.presenceTimer);
    this.#node.hub.removeSubscriber(sub.channel, this.#session);
    this.#node.releaseChannel(sub.channel);
  }

  async #leave(sub: Subscription): Promise<void> {
    const { options } = sub;
    try {
      if (options.presence) await this.#node.presenceStore.remove(sub.channel, this.#session.id);
      if (options.joinLeave || options.forcePushJoinLeave) {
        await this.#node.publishLeave(sub.channel, this.#infoFor(sub.channel, sub));
      }
    } catch (error) {
      this.#node.logger.warn({ channel: sub.channel, err: String(error) }, 'leave failed');
    }
  }

  #get(channel: string): Subscription | undefined {
    const first = this.#first;
    if (first !== undefined && first.channel === channel) return first;
    return this.#rest?.get(channel);
  }

  /** Number of subscriptions (active or subscribing). */
  get size(): number {
    return this.#size();
  }

  #size(): number {
    return this.#first === undefined ? 0 : 1 + (this.#rest?.size ?? 0);
  }

  /** Every subscription, oldest first, as a snapshot. */
  #all(): Subscription[] {
    if (this.#first === undefined) return [];
    return this.#rest === undefined ? [this.#first] : [this.#first, ...this.#rest.values()];
  }

  #add(sub: Subscription): void {
    if (this.#first === undefined) {
      this.#first = sub;
      return;
    }
    this.#rest ??= new Map();
    this.#rest.set(sub.channel, sub);
  }

  #delete(sub: Subscription): void {
    if (this.#first === sub) {
      // The oldest of the rest takes the slot, so the order stays the subscription order.
      const next = this.#rest?.values().next().value;
      if (next !== undefined) this.#rest?.delete(next.channel);
      this.#first = next;
    } else if (this.#rest?.get(sub.channel) === sub) this.#rest.delete(sub.channel);
  }

  #infoFor(channel: string, sub = this.#get(channel)): ClientInfo {
    const base = this.#session.clientInfo;
    const chanInfo = sub?.chanInfoOverride ?? sub?.chanInfo;
    return chanInfo ? { ...base, chanInfo } : base;
  }
}

/** Rate asked in a subscribe's `data` (`{"maxRate": N}`), for SDKs that have no field for it. */
function rateFromData(data: Uint8Array | undefined): number {
  if (data === undefined || data.byteLength === 0 || data.byteLength > 4096 || data[0] !== 0x7b) return 0;
  try {
    const value = (JSON.parse(new TextDecoder().decode(data)) as { maxRate?: unknown }).maxRate;
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
  } catch {
    return 0;
  }
}

/** Updates a second for a subscription: what it asked for, within the namespace cap. */
export function effectiveRate(cap: number, asked: number): number {
  if (cap > 0) return asked > 0 ? Math.min(asked, cap) : cap;
  return asked > 0 ? asked : 0;
}

/** State channels: true when the snapshot already gave this key's document at this offset. */
function knownFromSnapshot(sub: Subscription, pub: StreamPublication): boolean {
  const floor = sub.stateFloor!;
  if (pub.offset >= floor.max) sub.stateFloor = undefined;
  const known = floor.byKey.get(stateKeyOf(pub.tags));
  return known !== undefined && pub.offset <= known;
}

/** What a subscribe permission check grants. */
interface Grant {
  readonly expireAt?: number;
  readonly info?: Uint8Array;
  readonly data?: Uint8Array;
  /** Granted by `onSubscribe`. */
  readonly hooked?: boolean;
}
