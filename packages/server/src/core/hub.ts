import type { ClientInfo, StreamPosition } from '@tidings/protocol';
import type { StreamPublication } from '../broker/types.js';
import { EncodedPush } from './encoded-push.js';

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

/**
 * The node-local index: channel → subscribed sessions, client id → session, user → sessions.
 *
 * Contract: fan-out visits each subscriber once per publication, in subscription order, and
 * encodes the push once per codec (EncodedPush). Index updates are synchronous, so a session
 * added before a publication arrives always sees it.
 */
export class Hub {
  readonly #channels = new Map<string, Set<HubSession>>();
  readonly #sessions = new Map<string, HubSession>();
  readonly #users = new Map<string, Set<HubSession>>();
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

  /** Returns true when `session` is the channel's first subscriber on this node. */
  addSubscriber(channel: string, session: HubSession): boolean {
    let set = this.#channels.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#channels.set(channel, set);
    }
    if (!set.has(session)) {
      set.add(session);
      this.#numSubs++;
    }
    return first;
  }

  /** Returns true when the channel has no subscriber left on this node. */
  removeSubscriber(channel: string, session: HubSession): boolean {
    const set = this.#channels.get(channel);
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
    return [...(this.#channels.get(channel) ?? [])];
  }

  hasSubscribers(channel: string): boolean {
    return this.#channels.has(channel);
  }

  broadcastPublication(channel: string, pub: StreamPublication, epoch: string): void {
    const set = this.#channels.get(channel);
    if (set === undefined) return;
    const encoded = new EncodedPush({ channel, pub });
    for (const session of set) session.deliverPublication(channel, pub, epoch, encoded);
  }

  broadcastJoin(channel: string, info: ClientInfo): void {
    const set = this.#channels.get(channel);
    if (set === undefined) return;
    const encoded = new EncodedPush({ channel, join: { info } });
    for (const session of set) session.deliverJoinLeave(channel, encoded);
  }

  broadcastLeave(channel: string, info: ClientInfo): void {
    const set = this.#channels.get(channel);
    if (set === undefined) return;
    const encoded = new EncodedPush({ channel, leave: { info } });
    for (const session of set) session.deliverJoinLeave(channel, encoded);
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
    return [...this.#channels].map(([channel, set]) => ({ channel, numClients: set.size }));
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
