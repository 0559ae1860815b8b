import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type Disconnect, DisconnectCode, ErrorCode, type Publication, type Push, type Reply } from '@tidings/protocol';
import type { EncodedPush, Session } from '@tidings/server';
import mqttPacket, {
  type IConnectPacket,
  type IPublishPacket,
  type ISubscribePacket,
  type IUnsubscribePacket,
  type Packet,
} from 'mqtt-packet';
import { apiKeyLoginHeader, apiKeyUserName } from './api-key-login.js';
import { type BridgeSink, BridgeTransport } from './bridge-transport.js';
import { type EdgeContext, OutboundQueue, type SubscriptionState } from './outbound.js';
import {
  ConnackCode311,
  MqttReason,
  reasonForDisconnect,
  reasonForError,
  subackReasonForError,
} from './reason-codes.js';
import type { StoredSubscription } from './session-store.js';
import { filterToLevels, isWildcardFilter } from './topic-mapping.js';
import { WildcardSubscriptions } from './wildcard-subscriptions.js';

type Version = 3 | 4 | 5;

/**
 * One MQTT client connection: parses packets, runs them through a Tidings Session (auth,
 * permissions, recovery, bounded writer) and turns the session's replies and pushes into MQTT.
 *
 * Contract: packets other than PUBACK, PINGREQ and DISCONNECT are processed one at a time in
 * arrival order. A QoS 1 PUBLISH is acknowledged only after the engine stored it. A malformed or
 * oversize packet closes the connection (5.0: DISCONNECT with 0x81 / 0x95 first); nothing
 * thrown by a client's bytes escapes this class.
 */
export class MqttConnection implements BridgeSink {
  readonly #ctx: EdgeContext;
  readonly #socket: Duplex;
  readonly #parser: ReturnType<typeof mqttPacket.parser>;
  readonly #remoteAddress: string | undefined;
  #version: Version = 4;
  #clientId = '';
  #session: Session | undefined;
  #state: 'new' | 'connecting' | 'connected' | 'closed' = 'new';
  #chain: Promise<void> = Promise.resolve();
  #nextCommandId = 1;
  readonly #pending = new Map<number, (reply: Reply) => void>();
  /**
   * Live publications of channels whose subscribe command is in flight: the session sends them
   * right after its reply, before this connection has recorded the subscription, so they wait
   * here and go out after the reply's own (recovered or retained) publications.
   */
  readonly #subscribing = new Map<string, Array<[Publication, EncodedPush | undefined]>>();
  readonly #out: OutboundQueue;
  readonly #wildcards: WildcardSubscriptions;
  readonly #aliases = new Map<number, string>();
  readonly #qos2 = new Set<number>();
  #will: IConnectPacket['will'];
  #persistent = false;
  #sessionExpiryMs = 0;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #keepAliveMs = 0;

  constructor(ctx: EdgeContext, socket: Duplex, remoteAddress?: string) {
    this.#ctx = ctx;
    this.#socket = socket;
    this.#remoteAddress = remoteAddress;
    this.#out = new OutboundQueue(ctx, {
      writeBytes: (bytes) => {
        if (this.#state !== 'closed') this.#socket.write(bytes);
      },
      fail: (reason) => this.#fail(reason),
      get socketBufferedBytes() {
        return socket.writableLength;
      },
    });
    const out = this.#out;
    this.#wildcards = new WildcardSubscriptions(ctx, {
      session: () => this.#session,
      out,
      fail: (reason) => this.#fail(reason),
    });
    this.#parser = mqttPacket.parser();
    this.#parser.on('packet', (packet: Packet) => this.#onPacket(packet));
    this.#parser.on('error', () => this.#fail(MqttReason.MalformedPacket));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.#teardown());
    socket.on('close', () => this.#teardown());
    this.#keepAliveMs = ctx.options.connectTimeoutMs;
    this.#armKeepAlive();
  }

  /** The MQTT client identifier (after CONNECT). */
  get clientId(): string {
    return this.#clientId;
  }

  get socketBufferedBytes(): number {
    return this.#socket.writableLength;
  }

  /** Close because another connection took over this client id. */
  takeOver(): void {
    this.#fail(MqttReason.SessionTakenOver);
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    this.#armKeepAlive();
    try {
      this.#parser.parse(chunk);
    } catch {
      this.#fail(MqttReason.MalformedPacket);
      return;
    }
    // The parser buffers a packet until its announced length arrived: refuse oversize ones as
    // soon as the header says so, before they are buffered.
    const announced = (this.#parser as unknown as { packet?: { length?: number } }).packet?.length ?? -1;
    if (announced > this.#ctx.options.maxPacketSizeBytes) this.#fail(MqttReason.PacketTooLarge);
  }

  #onPacket(packet: Packet): void {
    if (this.#state === 'closed') return;
    if ((packet.length ?? 0) > this.#ctx.options.maxPacketSizeBytes) {
      this.#fail(MqttReason.PacketTooLarge);
      return;
    }
    if (this.#state === 'new') {
      if (packet.cmd !== 'connect') {
        this.#fail(MqttReason.ProtocolError);
        return;
      }
      this.#state = 'connecting';
      this.#enqueue(() => this.#connect(packet));
      return;
    }
    switch (packet.cmd) {
      case 'pingreq':
        this.#write({ cmd: 'pingresp' });
        return;
      case 'puback':
        this.#out.acked(packet.messageId ?? 0);
        return;
      case 'disconnect':
        if (packet.reasonCode !== MqttReason.DisconnectWithWill) this.#will = undefined;
        if (packet.properties?.sessionExpiryInterval !== undefined && this.#version === 5) {
          this.#setExpiry(packet.properties.sessionExpiryInterval);
        }
        this.#socket.end();
        this.#teardown();
        return;
      case 'publish':
        this.#enqueue(() => this.#publish(packet));
        return;
      case 'pubrel':
        this.#qos2.delete(packet.messageId ?? 0);
        this.#write({ cmd: 'pubcomp', messageId: packet.messageId ?? 0 });
        return;
      case 'subscribe':
        this.#enqueue(() => this.#subscribe(packet));
        return;
      case 'unsubscribe':
        this.#enqueue(() => this.#unsubscribe(packet));
        return;
      case 'pubrec':
      case 'pubcomp':
        // The server never sends QoS 2, so these acknowledge nothing.
        this.#fail(MqttReason.ProtocolError);
        return;
      default:
        this.#fail(MqttReason.ProtocolError);
    }
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch(() => this.#fail(MqttReason.ImplementationSpecificError));
  }

  // ---- session bridge ----

  #command(body: Omit<NonNullable<Parameters<Session['handleCommands']>[0][number]>, 'id'>): Promise<Reply> {
    const session = this.#session;
    if (session === undefined || this.#state === 'closed')
      return Promise.resolve({ error: { code: 100, message: 'closed' } });
    const id = this.#nextCommandId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      session.handleCommands([{ id, ...body }]);
    });
  }

  onReply(reply: Reply): void {
    if (reply.id === undefined || reply.id === 0) {
      // The session's ping: the MQTT side has its own keep-alive, so answer it here.
      this.#session?.handleCommands([{}]);
      return;
    }
    const resolve = this.#pending.get(reply.id);
    if (resolve === undefined) return;
    this.#pending.delete(reply.id);
    resolve(reply);
  }

  onPush(push: Push, shared: EncodedPush | undefined): void {
    const channel = push.channel;
    if (channel === undefined) return;
    if (push.pub !== undefined) {
      const waiting = this.#subscribing.get(channel);
      if (waiting !== undefined) waiting.push([push.pub, shared]);
      else this.#out.deliver(channel, push.pub, false, shared);
    } else if (push.unsubscribe !== undefined) {
      // Insufficient state (a gap) or a server-side unsubscribe: MQTT cannot signal either
      // inside a connection, so the client reconnects and its session resumes or reports
      // session-present 0 — never a silent skip.
      this.#fail(MqttReason.UnspecifiedError);
    }
  }

  onSessionClose(disconnect: Disconnect): void {
    const reason = reasonForDisconnect(disconnect.code);
    if (this.#state === 'connecting') {
      // The session refused the credentials (it closes without a reply): the connect path
      // answers with the CONNACK refusal.
      const code = disconnect.code === DisconnectCode.InvalidToken ? ErrorCode.Unauthorized : ErrorCode.Internal;
      for (const resolve of this.#pending.values()) resolve({ error: { code, message: disconnect.reason } });
      this.#pending.clear();
      return;
    }
    this.#fail(reason);
  }

  // ---- packets ----

  async #connect(packet: IConnectPacket): Promise<void> {
    const version = packet.protocolVersion ?? 4;
    if (version !== 3 && version !== 4 && version !== 5) {
      this.#write({ cmd: 'connack', sessionPresent: false, returnCode: ConnackCode311.UnacceptableProtocolVersion });
      this.#close();
      return;
    }
    this.#version = version;
    const clean = packet.clean !== false;
    let clientId = packet.clientId ?? '';
    let assigned: string | undefined;
    if (clientId === '') {
      if (!clean && version !== 5) {
        this.#connackError(ConnackCode311.IdentifierRejected, MqttReason.ClientIdentifierNotValid);
        return;
      }
      clientId = randomUUID();
      assigned = clientId;
    }
    this.#clientId = clientId;
    this.#keepAliveMs = packet.keepalive ? packet.keepalive * 1500 : 0;
    this.#armKeepAlive();
    if (version === 5) this.#setExpiry(packet.properties?.sessionExpiryInterval ?? 0);
    else {
      this.#persistent = !clean;
      this.#sessionExpiryMs = this.#ctx.options.maxSessionExpiryMs;
    }
    this.#out.configure(version, packet.properties?.receiveMaximum, packet.properties?.maximumPacketSize);

    const password = packet.password !== undefined ? packet.password.toString('utf8') : undefined;
    // User name `api-key`: the password is an API key, checked by the node's authenticator
    // (see withApiKeyLogin); otherwise the password is the connection JWT.
    const apiKey = packet.username === apiKeyUserName ? password : undefined;
    const token = apiKey === undefined ? password : undefined;
    const session = this.#ctx.node.openSession(new BridgeTransport(this), {
      ...(this.#remoteAddress !== undefined ? { remoteAddress: this.#remoteAddress } : {}),
      ...(apiKey !== undefined ? { headers: { [apiKeyLoginHeader]: apiKey } } : {}),
    });
    this.#session = session;
    const reply = await this.#command({ connect: token ? { token, name: 'mqtt' } : { name: 'mqtt' } });
    if (this.#state === 'closed') return;
    if (reply.error !== undefined) {
      const code = reasonForError(reply.error.code);
      this.#connackError(
        code === MqttReason.BadUserNameOrPassword ? ConnackCode311.BadUserNameOrPassword : ConnackCode311.NotAuthorized,
        code === MqttReason.BadUserNameOrPassword ? code : MqttReason.NotAuthorized,
      );
      return;
    }
    if (packet.will !== undefined) {
      const mapped = this.#ctx.mapping.topicToChannel(packet.will.topic);
      if (!mapped.ok) {
        this.#connackError(ConnackCode311.NotAuthorized, MqttReason.TopicNameInvalid);
        return;
      }
      this.#will = packet.will;
    }
    this.#ctx.connections.get(clientId)?.takeOver();
    this.#ctx.connections.set(clientId, this);

    const stored = this.#ctx.store.take(clientId);
    let sessionPresent = false;
    if (!clean && stored !== undefined && (stored.wildcardFilters ?? 0) > 0) {
      // The channels a wildcard filter matched while the client was away have no stored
      // positions, so no gap check is possible: report a fresh session (the client resubscribes).
    } else if (!clean && stored !== undefined && stored.subscriptions.length > 0) {
      this.#out.hold();
      sessionPresent = true;
      for (const sub of stored.subscriptions) {
        this.#subscribing.set(sub.channel, []);
        const r = await this.#command({
          subscribe: {
            channel: sub.channel,
            recover: true,
            epoch: sub.epoch,
            offset: sub.offset,
            positioned: true,
            recoverable: true,
          },
        });
        if (r.error !== undefined || r.subscribe?.recovered !== true) sessionPresent = false;
        if (r.subscribe !== undefined) this.#addSubscription(sub, r, false);
        this.#flushSubscribing(sub.channel);
      }
      if (!sessionPresent) {
        // History no longer covers the gap: report a fresh session and drop what resumed.
        for (const sub of stored.subscriptions) await this.#dropSubscription(sub.channel);
        this.#out.discardHeld();
      }
    } else if (clean && stored !== undefined) {
      this.#ctx.store.delete(clientId);
    }
    if (this.#isClosed()) return;
    this.#state = 'connected';
    const o = this.#ctx.options;
    this.#write({
      cmd: 'connack',
      sessionPresent,
      ...(version === 5
        ? {
            reasonCode: 0,
            properties: {
              receiveMaximum: o.maxInflight,
              maximumQoS: 1,
              retainAvailable: true,
              maximumPacketSize: o.maxPacketSizeBytes,
              topicAliasMaximum: o.topicAliasMaximum,
              wildcardSubscriptionAvailable: this.#wildcardsServed(),
              subscriptionIdentifiersAvailable: false,
              sharedSubscriptionAvailable: false,
              ...(assigned !== undefined ? { assignedClientIdentifier: assigned } : {}),
            },
          }
        : { returnCode: 0 }),
    } as Packet);
    this.#out.release();
  }

  async #publish(packet: IPublishPacket): Promise<void> {
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > this.#ctx.options.topicAliasMaximum) {
        this.#fail(MqttReason.TopicAliasInvalid);
        return;
      }
      if (topic === '') topic = this.#aliases.get(alias) ?? '';
      else this.#aliases.set(alias, topic);
    }
    const mapped = this.#ctx.mapping.topicToChannel(topic);
    if (!mapped.ok) {
      this.#fail(MqttReason.TopicNameInvalid);
      return;
    }
    if (packet.qos === 2) {
      if (this.#version === 5) {
        // The 5.0 CONNACK advertised Maximum QoS 1 (§3.2.2.3.4).
        this.#fail(MqttReason.QoSNotSupported);
        return;
      }
      // 3.1.1 QoS 2: store once, PUBREC; a DUP re-send of an id not yet released is not stored again.
      const id = packet.messageId ?? 0;
      if (!this.#qos2.has(id)) {
        const reply = await this.#command({ publish: { channel: mapped.channel, data: toBytes(packet.payload) } });
        if (reply.error !== undefined) {
          this.#close();
          return;
        }
        this.#qos2.add(id);
      }
      this.#write({ cmd: 'pubrec', messageId: id });
      return;
    }
    const reply = await this.#command({ publish: { channel: mapped.channel, data: toBytes(packet.payload) } });
    if (packet.qos === 0) return;
    if (reply.error !== undefined && this.#version !== 5) {
      // 3.1.1 has no negative PUBACK: an unstored publish must not be acknowledged.
      this.#close();
      return;
    }
    this.#write({
      cmd: 'puback',
      messageId: packet.messageId ?? 0,
      ...(this.#version === 5 ? { reasonCode: reply.error ? reasonForError(reply.error.code) : 0 } : {}),
    });
  }

  async #subscribe(packet: ISubscribePacket): Promise<void> {
    const granted: number[] = [];
    this.#out.hold();
    const retained: Array<[string, Publication[]]> = [];
    const liveAfterRetained: Array<[string, Array<[Publication, EncodedPush | undefined]>]> = [];
    const retainedWild: Array<[string, Publication, string]> = [];
    for (const s of packet.subscriptions) {
      const failure = this.#version === 5 ? null : 0x80;
      if (isWildcardFilter(s.topic)) {
        granted.push((await this.#subscribeWildcard(s, retainedWild)) ?? failure ?? 0);
        continue;
      }
      const mapped = this.#ctx.mapping.topicToChannel(s.topic);
      if (!mapped.ok) {
        granted.push(failure ?? MqttReason.TopicFilterInvalid);
        continue;
      }
      const qos: 0 | 1 = s.qos >= 1 ? 1 : 0;
      const channel = mapped.channel;
      const existing = this.#out.subscription(channel);
      if (existing !== undefined) {
        existing.qos = qos;
        granted.push(qos);
        continue;
      }
      const top = s.rh === 2 ? undefined : await this.#top(channel);
      const request =
        top !== undefined && top.offset > 0
          ? { channel, recover: true, epoch: top.epoch, offset: top.offset - 1, positioned: true, recoverable: true }
          : { channel, positioned: true, recoverable: true };
      this.#subscribing.set(channel, []);
      const r = await this.#command({ subscribe: request });
      if (r.error !== undefined || r.subscribe === undefined) {
        this.#subscribing.delete(channel);
        granted.push(failure ?? subackReasonForError(r.error?.code));
        continue;
      }
      const since = request.offset ?? r.subscribe.offset ?? 0;
      this.#addSubscription(
        { topic: s.topic, channel, qos, epoch: r.subscribe.epoch ?? '', offset: since },
        r,
        true,
        retained,
      );
      // Live ones that came with the reply follow the retained ones, after the SUBACK.
      liveAfterRetained.push([channel, this.#subscribing.get(channel) ?? []]);
      this.#subscribing.delete(channel);
      granted.push(qos);
    }
    this.#write({ cmd: 'suback', messageId: packet.messageId ?? 0, granted } as Packet);
    for (const [channel, pubs] of retained) for (const pub of pubs) this.#out.deliver(channel, pub, true, undefined);
    for (const [channel, live] of liveAfterRetained)
      for (const [pub, shared] of live) this.#out.deliver(channel, pub, false, shared);
    for (const [channel, pub, epoch] of retainedWild) this.#wildcards.deliverRetained(channel, pub, epoch);
    this.#out.release();
  }

  #wildcardsServed(): boolean {
    return this.#ctx.node.patternsAvailable && this.#ctx.mapping.namespaceSeparator === ':';
  }

  /**
   * Subscribes one wildcard filter; returns the granted QoS, or the 5.0 SUBACK reason of a
   * refusal (the caller turns it into 0x80 for 3.1.1), and collects its retained messages.
   */
  async #subscribeWildcard(
    s: ISubscribePacket['subscriptions'][number],
    retained: Array<[string, Publication, string]>,
  ): Promise<number | null> {
    const v5 = this.#version === 5;
    if (!this.#wildcardsServed()) return v5 ? MqttReason.WildcardSubscriptionsNotSupported : null;
    const mapped = filterToLevels(this.#ctx.mapping, s.topic, this.#ctx.node.rules.maxChannelLength);
    if (!mapped.ok) return v5 ? MqttReason.TopicFilterInvalid : null;
    if (this.#session?.mayUsePatterns !== true) return v5 ? MqttReason.NotAuthorized : null;
    const isNew = !this.#wildcards.has(s.topic);
    if (isNew && this.#wildcards.size >= this.#ctx.options.maxWildcardSubscriptions) {
      return v5 ? MqttReason.QuotaExceeded : null;
    }
    const qos: 0 | 1 = s.qos >= 1 ? 1 : 0;
    try {
      await this.#wildcards.add(s.topic, mapped.levels, qos);
    } catch (error) {
      const code = (error as { wireCode?: number }).wireCode;
      return v5 ? subackReasonForError(code) : null;
    }
    // Retain Handling: 0 always, 1 only for a new subscription, 2 never (MQTT 5 §3.8.3.1).
    if (s.rh !== 2 && (s.rh !== 1 || isNew)) {
      for (const r of await this.#latestOfMatches(mapped.levels)) retained.push(r);
    }
    return qos;
  }

  /** The latest publication of each existing channel a filter matches (its retained messages). */
  async #latestOfMatches(levels: readonly string[]): Promise<Array<[string, Publication, string]>> {
    const node = this.#ctx.node;
    let channels: string[];
    try {
      channels = await node.patternChannels(levels, this.#ctx.options.maxRetainedPerFilter);
    } catch {
      return [];
    }
    const out: Array<[string, Publication, string]> = [];
    for (const channel of channels) {
      if (this.#session?.mayReceiveByPattern(channel) !== true) continue;
      try {
        const read = await node.history(channel, { limit: 1, reverse: true });
        const pub = read.publications[0];
        if (pub !== undefined) out.push([channel, pub, read.epoch]);
      } catch {
        // No history in that namespace, or the engine failed: no retained message for it.
      }
    }
    return out;
  }

  async #unsubscribe(packet: IUnsubscribePacket): Promise<void> {
    const codes: number[] = [];
    for (const topic of packet.unsubscriptions) {
      if (isWildcardFilter(topic)) {
        codes.push(this.#wildcards.remove(topic) ? 0 : 0x11);
        continue;
      }
      const mapped = this.#ctx.mapping.topicToChannel(topic);
      if (mapped.ok && this.#out.subscription(mapped.channel) !== undefined) {
        await this.#dropSubscription(mapped.channel);
        codes.push(0);
      } else codes.push(0x11); // No subscription existed
    }
    this.#write({
      cmd: 'unsuback',
      messageId: packet.messageId ?? 0,
      ...(this.#version === 5 ? { granted: codes } : {}),
    } as Packet);
  }

  #addSubscription(
    sub: StoredSubscription,
    reply: Reply,
    retainedFromRecovery: boolean,
    retained?: Array<[string, Publication[]]>,
  ): void {
    const state: SubscriptionState = {
      topic: sub.topic,
      qos: sub.qos,
      epoch: reply.subscribe?.epoch ?? sub.epoch,
      offset: sub.offset,
    };
    this.#out.addSubscription(sub.channel, state);
    const pubs = reply.subscribe?.publications ?? [];
    if (retainedFromRecovery && retained !== undefined) retained.push([sub.channel, pubs]);
    else for (const pub of pubs) this.#out.deliver(sub.channel, pub, false, undefined);
  }

  /** Delivers what waited for `channel`'s subscribe reply (see `#subscribing`). */
  #flushSubscribing(channel: string): void {
    const live = this.#subscribing.get(channel);
    this.#subscribing.delete(channel);
    if (live !== undefined) for (const [pub, shared] of live) this.#out.deliver(channel, pub, false, shared);
  }

  async #dropSubscription(channel: string): Promise<void> {
    this.#out.removeSubscription(channel);
    await this.#command({ unsubscribe: { channel } });
  }

  /** The channel's top position, when it keeps history; undefined otherwise. */
  async #top(channel: string): Promise<{ offset: number; epoch: string } | undefined> {
    try {
      const top = await this.#ctx.node.history(channel, { limit: 0 });
      return { offset: top.offset, epoch: top.epoch };
    } catch {
      return undefined;
    }
  }

  // ---- lifecycle ----

  /** Read through a method: the state changes across awaits, which narrowing cannot see. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #setExpiry(seconds: number): void {
    this.#sessionExpiryMs = Math.min(seconds * 1000, this.#ctx.options.maxSessionExpiryMs);
    this.#persistent = this.#sessionExpiryMs > 0;
  }

  #armKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined) clearTimeout(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
    if (this.#keepAliveMs > 0 && this.#state !== 'closed') {
      this.#keepAliveTimer = setTimeout(() => this.#fail(MqttReason.KeepAliveTimeout), this.#keepAliveMs);
      this.#keepAliveTimer.unref();
    }
  }

  #connackError(code311: number, code5: number): void {
    this.#write({
      cmd: 'connack',
      sessionPresent: false,
      ...(this.#version === 5 ? { reasonCode: code5 } : { returnCode: code311 }),
    } as Packet);
    this.#close();
  }

  #write(packet: Packet): void {
    if (this.#state === 'closed') return;
    try {
      this.#socket.write(mqttPacket.generate(packet, { protocolVersion: this.#version }));
    } catch {
      this.#close();
    }
  }

  /** Close with an MQTT 5 DISCONNECT reason (3.1.1 has none: the socket just closes). */
  #fail(reason: number): void {
    if (this.#state === 'closed') return;
    if (this.#version === 5 && (this.#state === 'connected' || reason === MqttReason.MalformedPacket)) {
      this.#write({ cmd: 'disconnect', reasonCode: reason } as Packet);
    }
    this.#close();
  }

  #close(): void {
    if (this.#state === 'closed') return;
    this.#socket.end();
    this.#teardown();
    // A peer that does not close its side is cut after the final packet had time to leave.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  #teardown(): void {
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    if (this.#keepAliveTimer !== undefined) clearTimeout(this.#keepAliveTimer);
    if (this.#ctx.connections.get(this.#clientId) === this) this.#ctx.connections.delete(this.#clientId);
    if (wasConnected && this.#persistent) {
      this.#ctx.store.put(this.#clientId, {
        subscriptions: this.#out.positions(),
        wildcardFilters: this.#wildcards.size,
        expiresAt: Date.now() + this.#sessionExpiryMs,
      });
    }
    this.#out.close();
    this.#wildcards.close();
    const session = this.#session;
    const will = this.#will;
    this.#will = undefined;
    for (const resolve of this.#pending.values()) resolve({ error: { code: 100, message: 'closed' } });
    this.#pending.clear();
    if (session === undefined) return;
    // A normal DISCONNECT cleared the will; DISCONNECT 0x04 and abnormal closes keep it.
    if (wasConnected && will !== undefined) {
      const mapped = this.#ctx.mapping.topicToChannel(will.topic);
      if (mapped.ok) {
        // The will goes through the session, so the namespace's publish permission applies.
        const id = this.#nextCommandId++;
        this.#pending.set(id, () => session.transportClosed());
        session.handleCommands([{ id, publish: { channel: mapped.channel, data: toBytes(will.payload) } }]);
        setTimeout(() => session.transportClosed(), 5000).unref();
        return;
      }
    }
    session.transportClosed();
  }
}

function toBytes(payload: string | Buffer): Uint8Array {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}
