import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { type Clock, systemClock } from '../../internal/clock.js';
import type { StateEntry, StateStore } from '../types.js';
import { DEFAULT_SWEEP_INTERVAL_MS, IncrementalSweep, PeriodicTask } from './sweeper.js';

interface ChannelState {
  readonly entries: Map<string, StateEntry>;
  /** 0 = never. */
  expiresAt: number;
}

const SWEEP_BATCH = 1000;

/** Options of a `MemoryStateStore`. */
export interface MemoryStateStoreOptions {
  /** Time source for expiry and the sweep timer. Default `systemClock`. */
  readonly clock?: Clock;
  /** Period of the background sweep of expired channels. */
  readonly sweepIntervalMs?: number;
}

/**
 * A single-process `StateStore`: per channel, key → latest entry (see the `StateStore`
 * contract). Entries live in this process only and are lost on restart, as the memory broker's
 * streams are (whose new epoch tells subscribers). Expired channels are never returned and are
 * swept in bounded batches. After `close()` every method but `close` rejects with
 * `TIDINGS_ERR_STATE`.
 */
export class MemoryStateStore implements StateStore {
  readonly #clock: Clock;
  readonly #channels = new Map<string, ChannelState>();
  readonly #sweep = new IncrementalSweep(this.#channels, SWEEP_BATCH);
  readonly #sweeper: PeriodicTask;
  #closed = false;

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#sweeper = new PeriodicTask(this.#clock, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, () => {
      const now = this.#clock.now();
      this.#sweep.run((_, state) => !expired(state, now));
    });
  }

  /** Channels holding state (expired ones until swept or read). */
  get channelCount(): number {
    return this.#channels.size;
  }

  async put(channel: string, entry: StateEntry, ttlMs: number): Promise<boolean> {
    this.#assertOpen('put');
    let state = this.#live(channel);
    if (state === undefined) {
      state = { entries: new Map(), expiresAt: 0 };
      this.#channels.set(channel, state);
    }
    state.expiresAt = ttlMs > 0 ? this.#clock.now() + ttlMs : 0;
    const stored = state.entries.get(entry.key);
    if (stored !== undefined && stored.epoch === entry.epoch && stored.offset >= entry.offset) return false;
    state.entries.set(entry.key, entry);
    return true;
  }

  async get(channel: string, key: string): Promise<StateEntry | undefined> {
    this.#assertOpen('get');
    return this.#live(channel)?.entries.get(key);
  }

  async snapshot(channel: string): Promise<StateEntry[]> {
    this.#assertOpen('snapshot');
    const entries = this.#live(channel)?.entries;
    if (entries === undefined) return [];
    return [...entries.values()].sort((a, b) => a.offset - b.offset);
  }

  async remove(channel: string, key?: string): Promise<void> {
    this.#assertOpen('remove');
    if (key === undefined) {
      this.#channels.delete(channel);
      return;
    }
    const state = this.#channels.get(channel);
    state?.entries.delete(key);
    if (state?.entries.size === 0) this.#channels.delete(channel);
  }

  /** Stops the sweep timer and drops all state. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sweeper.stop();
    this.#channels.clear();
  }

  #live(channel: string): ChannelState | undefined {
    const state = this.#channels.get(channel);
    if (state !== undefined && expired(state, this.#clock.now())) {
      this.#channels.delete(channel);
      return undefined;
    }
    return state;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `MemoryStateStore.${method}: the store is closed`);
  }
}

function expired(state: ChannelState, now: number): boolean {
  return state.expiresAt !== 0 && state.expiresAt <= now;
}
