import { randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/transport-node';
import type { SharedRateCounter } from '@tidings/server';
import type { NatsConnector } from './connection.js';
import type { NatsNames } from './names.js';

/** What one node announces: its own running totals in one window of one limit. */
interface CountsMessage {
  /** Node id. */
  readonly n: string;
  /** Limit scope (e.g. `publish:user`). */
  readonly s: string;
  /** Window id. */
  readonly w: number;
  /** (key, this node's total so far in the window). */
  readonly c: ReadonlyArray<readonly [string, number]>;
}

/** One scope's current window: every node's totals per key. */
interface Window {
  readonly id: number;
  readonly byNode: Map<string, Map<string, number>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Rate-limit counters shared by the nodes of one NATS engine. NATS has no atomic counter a node
 * can add to and read back in one round trip (KV is compare-and-set per key), so the nodes
 * gossip instead: each `add` publishes, on one core NATS subject, this node's running totals
 * for the keys it counted, and every node keeps the latest totals it heard from each other
 * node for the current window. The cluster-wide total of a key is the sum over nodes.
 *
 * Totals, not increments, are sent, so a lost or repeated message costs accuracy only until the
 * key's next exchange and never counts twice. What a node knows lags the others by one exchange
 * (`SharedWindowLimiter.syncMs`, 100 ms) plus the NATS hop — the same overshoot bound the
 * limiter documents for Redis. Windows are numbered from the wall clock, so nodes' clocks must
 * agree to well within a window (NTP). Memory: one window per scope, with at most the keys
 * the nodes counted in it. When NATS is unreachable `add` rejects as unavailable and the
 * limiter enforces its limit on this node alone.
 */
export class NatsRateCounter implements SharedRateCounter {
  readonly #connector: NatsConnector;
  readonly #names: NatsNames;
  readonly #node = randomUUID();
  readonly #windows = new Map<string, Window>();
  #subscription: Promise<Subscription> | undefined;
  #closed = false;

  constructor(connector: NatsConnector, names: NatsNames) {
    this.#connector = connector;
    this.#names = names;
    // Listen from the moment the engine connects, not from this node's first count: a node must
    // know what the others counted before it counts a key itself.
    connector.onConnect(() => void this.#subscribe().catch(() => undefined));
  }

  async add(
    scope: string,
    windowId: number,
    counts: ReadonlyMap<string, number>,
    _windowMs: number,
  ): Promise<Map<string, number>> {
    const { nc } = await this.#connector.use();
    await this.#subscribe();
    const window = this.#window(scope, windowId);
    let mine = window.byNode.get(this.#node);
    if (mine === undefined) {
      mine = new Map();
      window.byNode.set(this.#node, mine);
    }
    const announced: Array<[string, number]> = [];
    for (const [key, n] of counts) {
      const total = (mine.get(key) ?? 0) + n;
      mine.set(key, total);
      announced.push([key, total]);
    }
    const message: CountsMessage = { n: this.#node, s: scope, w: windowId, c: announced };
    nc.publish(this.#names.rateCounts, encoder.encode(JSON.stringify(message)));
    const totals = new Map<string, number>();
    for (const key of counts.keys()) {
      let sum = 0;
      for (const node of window.byNode.values()) sum += node.get(key) ?? 0;
      totals.set(key, sum);
    }
    return totals;
  }

  /** Stops listening to the other nodes. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const sub = await this.#subscription?.catch(() => undefined);
    sub?.unsubscribe();
  }

  /** The scope's window `id`, replacing an older one; an older id gets a throwaway window. */
  #window(scope: string, id: number): Window {
    const current = this.#windows.get(scope);
    if (current !== undefined && current.id === id) return current;
    const fresh: Window = { id, byNode: new Map() };
    if (current === undefined || current.id < id) this.#windows.set(scope, fresh);
    return fresh;
  }

  #subscribe(): Promise<Subscription> {
    this.#subscription ??= this.#connector.use().then(({ nc }) => {
      const sub = nc.subscribe(this.#names.rateCounts, {
        callback: (err, msg) => {
          if (err !== null || this.#closed) return;
          let m: CountsMessage;
          try {
            m = JSON.parse(decoder.decode(msg.data)) as CountsMessage;
          } catch {
            return;
          }
          if (m.n === this.#node || typeof m.s !== 'string' || !Array.isArray(m.c)) return;
          const current = this.#windows.get(m.s);
          // A message for a past window is late: the limiter has moved on.
          if (current !== undefined && m.w < current.id) return;
          const window = this.#window(m.s, m.w);
          let theirs = window.byNode.get(m.n);
          if (theirs === undefined) {
            theirs = new Map();
            window.byNode.set(m.n, theirs);
          }
          for (const [key, total] of m.c) {
            if (typeof key === 'string' && typeof total === 'number' && total > (theirs.get(key) ?? 0))
              theirs.set(key, total);
          }
        },
      });
      // Effective before the first announcement is counted on.
      return nc.flush().then(() => sub);
    });
    this.#subscription.catch(() => {
      this.#subscription = undefined;
    });
    return this.#subscription;
  }
}
