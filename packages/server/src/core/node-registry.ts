import type { Clock, TimerHandle } from '../internal/clock.js';
import type { Logger } from '../observability/logger.js';

/**
 * The engine channel nodes announce themselves on. Its namespace (`$tidings`) is not a valid
 * namespace name, so no client or API call can subscribe or publish to it.
 */
export const nodesChannel = '$tidings:nodes';

/** What a node announces about itself: `TidingsNode.info()` plus the time it was sent. */
export interface NodeAnnouncement {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly numClients: number;
  readonly numUsers: number;
  readonly numSubs: number;
  readonly numChannels: number;
}

/** Options of `NodeRegistry`. */
export interface NodeRegistryOptions {
  readonly self: () => NodeAnnouncement;
  /** Publishes an announcement into `nodesChannel` through the engine (no history). */
  readonly publish: (data: Uint8Array) => Promise<unknown>;
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly logger: Logger;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The nodes sharing this node's engine, learnt from their announcements. Every node publishes
 * its `info()` into `nodesChannel` every `intervalMs`; a node not heard from for three intervals
 * is dropped. `nodes()` lists this node first, then the others by name. Announcements that do
 * not parse are ignored (logged at debug), never thrown into the fan-out.
 */
export class NodeRegistry {
  readonly #options: NodeRegistryOptions;
  readonly #others = new Map<string, { info: NodeAnnouncement; seenAt: number }>();
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: NodeRegistryOptions) {
    this.#options = options;
  }

  /** Announces now and then every interval until `stop()`. */
  start(): void {
    this.#announce();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Handles one publication of `nodesChannel`. */
  received(data: Uint8Array): void {
    let info: NodeAnnouncement;
    try {
      info = JSON.parse(dec.decode(data)) as NodeAnnouncement;
    } catch (error) {
      this.#options.logger.debug({ err: String(error) }, 'ignored a malformed node announcement');
      return;
    }
    if (typeof info?.id !== 'string' || typeof info.name !== 'string') return;
    if (info.id === this.#options.self().id) return;
    const known = this.#others.has(info.id);
    this.#others.set(info.id, { info, seenAt: this.#options.clock.now() });
    // A node just joined: tell it about this one now rather than at the next interval. It stops
    // there, as each side announces again only for a node it had not heard of.
    if (!known && !this.#stopped) this.#publishSelf();
  }

  /** This node, then every node heard from within three intervals, by name. */
  nodes(): NodeAnnouncement[] {
    const horizon = this.#options.clock.now() - 3 * this.#options.intervalMs;
    const others: NodeAnnouncement[] = [];
    for (const [id, entry] of this.#others) {
      if (entry.seenAt < horizon) this.#others.delete(id);
      else others.push(entry.info);
    }
    others.sort((a, b) => a.name.localeCompare(b.name));
    return [this.#options.self(), ...others];
  }

  #announce(): void {
    if (this.#stopped) return;
    this.#publishSelf();
    this.#timer = this.#options.clock.setTimeout(() => this.#announce(), this.#options.intervalMs);
  }

  #publishSelf(): void {
    this.#options.publish(enc.encode(JSON.stringify(this.#options.self()))).catch((error: unknown) => {
      // The engine is down: the node reports not ready; the next announcement retries.
      this.#options.logger.debug({ err: String(error) }, 'node announcement failed');
    });
  }
}
