import { clientError, ErrorCode } from '@tidings/protocol';
import type { Broker } from '../broker/types.js';
import type { Hub, HubPatternSubscriber } from './hub.js';
import { patternPrefix, patternRefusal } from './pattern-index.js';

/** A wildcard subscription held by one subscriber; `close` is idempotent. */
export interface PatternSubscription {
  /** The literal channel prefix the engine delivers for this pattern. */
  readonly prefix: string;
  close(): void;
}

interface PrefixState {
  count: number;
  /** The engine round trips of this prefix, chained so the last call wins. */
  op: Promise<void>;
}

/**
 * Wildcard subscriptions of one node: the hub's pattern index plus one engine prefix
 * subscription per distinct literal prefix (reference-counted), so the engine delivers what the
 * patterns may match and the index decides exactly who gets it.
 *
 * Contract: `subscribe` resolves once the engine confirmed the prefix; from then on every
 * publication of a matching channel reaches the subscriber once. It rejects with wire 107 for a
 * malformed pattern and 108 when the engine has no prefix subscriptions. After `close` nothing
 * more is delivered to that pattern.
 */
export class PatternSubscriptions {
  readonly #hub: Hub;
  readonly #broker: Broker;
  readonly #prefixes = new Map<string, PrefixState>();

  constructor(hub: Hub, broker: Broker) {
    this.#hub = hub;
    this.#broker = broker;
  }

  /** True when the engine can serve wildcard subscriptions. */
  get available(): boolean {
    return this.#broker.subscribePrefixes !== undefined && this.#broker.prefixesAvailable?.() !== false;
  }

  async subscribe(levels: readonly string[], subscriber: HubPatternSubscriber): Promise<PatternSubscription> {
    if (patternRefusal(levels) !== undefined) throw clientError(ErrorCode.BadRequest, 'bad channel pattern');
    const broker = this.#broker;
    if (!this.available) {
      throw clientError(ErrorCode.NotAvailable, 'the engine does not serve wildcard subscriptions');
    }
    const frozen = [...levels];
    const prefix = patternPrefix(frozen);
    this.#hub.addPattern(frozen, subscriber);
    let state = this.#prefixes.get(prefix);
    if (state === undefined) {
      state = { count: 0, op: Promise.resolve() };
      this.#prefixes.set(prefix, state);
    }
    state.count++;
    if (state.count === 1) {
      const s = state;
      s.op = s.op.then(
        () => broker.subscribePrefixes?.([prefix]),
        () => broker.subscribePrefixes?.([prefix]),
      );
    }
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.#hub.removePattern(frozen, subscriber);
      this.#release(prefix);
    };
    try {
      await state.op;
    } catch (error) {
      close();
      throw error;
    }
    return { prefix, close };
  }

  #release(prefix: string): void {
    const state = this.#prefixes.get(prefix);
    if (state === undefined) return;
    state.count--;
    if (state.count > 0) return;
    const op = state.op.then(
      () => this.#broker.unsubscribePrefixes?.([prefix]),
      () => undefined,
    );
    state.op = op;
    op.then(
      () => {
        if (this.#prefixes.get(prefix) === state && state.count === 0) this.#prefixes.delete(prefix);
      },
      () => undefined,
    );
  }
}
