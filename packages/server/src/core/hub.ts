import type { ClientInfo, StreamPosition } from '@tidings/protocol';
import type { StreamPublication } from '../broker/types.js';
import { EncodedPush } from './encoded-push.js';
import { channelLevels, PatternIndex } from './pattern-index.js';

/** What the hub needs from a session. */
export interface HubSession {
  readonly id: string;
  readonly userId: string;
  /** Deliver a live publication; `encoded` is shared by all subscribers of this publication. */
  deliverPublication(channel: string, pub: StreamPublication, epoch: string, encoded: EncodedPush): void;
  deliverJoinLeave(channel: string, encoded: EncodedPush): void;
  /** The broker may have missed deliveries: compare the subscription's position with `top`. */
  checkPosition(channel: string, top: StreamPosition): void;
}

/** A wildcard subscription's receiver (one per subscriber, whatever its number of patterns). */
export interface HubPatternSubscriber {
  /**
   * A live publication of a channel matched by at least one of this subscriber's patterns;
   * called once per publication. `encoded` is shared with every other receiver.
   */
  deliverPatternPublication(channel: string, pub: StreamPublication, epoch: string, encoded: EncodedPush): void;
  /** Prefix deliveries may have been missed (engine reconnect): the subscriber must resync. */
  patternDiscontinuity(): void;
}

/**
 * The node-local index: channel → subscribed sessions, client id → session, user → sessions.
 *
 * Contract: fan-out visits each subscriber once per publication, in subscription order, and
 * encodes the push once per codec (EncodedPush). Index updates are synchronous, so a session
 * added before a publication arrives always sees it.
 */
export class Hub {
  readonly #channels = new Map<string, ChannelSubscribers>();
  readonly #sessions = new Map<string, HubSession>();
  readonly #users = new Map<string, Set<HubSession>>();
  readonly #patterns = new PatternIndex<HubPatternSubscriber>();
  #numSubs = 0;

  addSession(session: HubSession): void {
    this.#sessions.set(session.id, session);
    let set = this.#users.get(session.userId);
    if (set === undefined) {
      set = new Set();
      this.#users.set(session.userId, set);
    }
    set.add(session);
  }

  removeSession(session: HubSession): void {
    this.#sessions.delete(session.id);
    const set = this.#users.get(session.userId);
    if (set !== undefined) {
      set.delete(session);
      if (set.size === 0) this.#users.delete(session.userId);
    }
  }

  /**
   * Adds `session` to the channel's subscribers. Returns the channel name as the hub keeps it
   * (the string of the channel's first subscriber): a subscription that keeps this string instead
   * of its own copy shares one string per channel, and deliveries compare it by reference.
   */
  addSubscriber(channel: string, session: HubSession): string {
    let entry = this.#channels.get(channel);
    if (entry === undefined) {
      entry = { name: channel, sessions: new Set() };
      this.#channels.set(channel, entry);
    }
    if (!entry.sessions.has(session)) {
      entry.sessions.add(session);
      this.#numSubs++;
    }
    return entry.name;
  }

  /** Returns true when the channel has no subscriber left on this node. */
  removeSubscriber(channel: string, session: HubSession): boolean {
    const set = this.#channels.get(channel)?.sessions;
    if (set === undefined) return true;
    if (set.delete(session)) this.#numSubs--;
    if (set.size === 0) {
      this.#channels.delete(channel);
      return true;
    }
    return false;
  }

  /** This node's subscribers of `channel`, as a snapshot. */
  subscribers(channel: string): HubSession[] {
    return [...(this.#channels.get(channel)?.sessions ?? [])];
  }

  hasSubscribers(channel: string): boolean {
    return this.#channels.has(channel);
  }

  broadcastPublication(channel: string, pub: StreamPublication, epoch: string): void {
    const entry = this.#channels.get(channel);
    if (entry === undefined) return;
    const encoded = new EncodedPush({ channel, pub });
    const name = entry.name;
    for (const session of entry.sessions) session.deliverPublication(name, pub, epoch, encoded);
  }

  /** Adds a wildcard pattern (levels as in `channelLevels`, `+` and `#` allowed) for `subscriber`. */
  addPattern(levels: readonly string[], subscriber: HubPatternSubscriber): void {
    this.#patterns.add(levels, subscriber);
  }

  /** Returns true when the pair was present. */
  removePattern(levels: readonly string[], subscriber: HubPatternSubscriber): boolean {
    return this.#patterns.remove(levels, subscriber);
  }

  /** Number of (pattern, subscriber) pairs. */
  get numPatterns(): number {
    return this.#patterns.size;
  }

  /**
   * Delivers a publication the engine sent for a subscribed prefix to every pattern subscriber
   * whose patterns match it: one walk of the pattern trie per publication, never a scan of
   * patterns or channels.
   */
  broadcastPatternPublication(channel: string, pub: StreamPublication, epoch: string): void {
    if (this.#patterns.size === 0) return;
    const levels = channelLevels(channel);
    if (levels === undefined) return;
    let encoded: EncodedPush | undefined;
    this.#patterns.match(levels, (subscriber) => {
      encoded ??= new EncodedPush({ channel, pub });
      subscriber.deliverPatternPublication(channel, pub, epoch, encoded);
    });
  }

  /** Tells every pattern subscriber that prefix deliveries may have been missed. */
  patternDiscontinuity(): void {
    for (const subscriber of this.#patterns.values()) subscriber.patternDiscontinuity();
  }

  broadcastJoin(channel: string, info: ClientInfo): void {
    const entry = this.#channels.get(channel);
    if (entry === undefined) return;
    const encoded = new EncodedPush({ channel, join: { info } });
    for (const session of entry.sessions) session.deliverJoinLeave(entry.name, encoded);
  }

  broadcastLeave(channel: string, info: ClientInfo): void {
    const entry = this.#channels.get(channel);
    if (entry === undefined) return;
    const encoded = new EncodedPush({ channel, leave: { info } });
    for (const session of entry.sessions) session.deliverJoinLeave(entry.name, encoded);
  }

  session(clientId: string): HubSession | undefined {
    return this.#sessions.get(clientId);
  }

  userSessions(userId: string): HubSession[] {
    return [...(this.#users.get(userId) ?? [])];
  }

  allSessions(): HubSession[] {
    return [...this.#sessions.values()];
  }

  /** Channels with at least one local subscriber, with their subscriber counts. */
  channels(): Array<{ channel: string; numClients: number }> {
    return [...this.#channels].map(([channel, entry]) => ({ channel, numClients: entry.sessions.size }));
  }

  get numClients(): number {
    return this.#sessions.size;
  }

  get numUsers(): number {
    return this.#users.size;
  }

  get numChannels(): number {
    return this.#channels.size;
  }

  get numSubs(): number {
    return this.#numSubs;
  }
}

/** One channel's local subscribers, with the channel name shared by their subscriptions. */
interface ChannelSubscribers {
  readonly name: string;
  readonly sessions: Set<HubSession>;
}
