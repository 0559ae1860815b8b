import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { type Clock, systemClock } from '../../internal/clock.js';
import type { PresenceStats, PresenceStore } from '../types.js';
import { DEFAULT_SWEEP_INTERVAL_MS, IncrementalSweep, PeriodicTask } from './sweeper.js';

interface PresenceEntry {
  readonly info: ClientInfo;
  readonly expiresAt: number;
}

type ChannelPresence = Map<string, PresenceEntry>;

const SWEEP_BATCH = 1000;

/** Options of a `MemoryPresence`. */
export interface MemoryPresenceOptions {
  /** Time source for expiry and the sweep timer. Default `systemClock`. */
  readonly clock?: Clock;
  /** Period of the background sweep of expired entries. */
  readonly sweepIntervalMs?: number;
}

/**
 * A single-process `PresenceStore`: per channel, clientId → info, each entry expiring `ttlMs`
 * after its last `add`.
 *
 * `get` and `stats` never report expired entries (they are removed as they are met); a periodic
 * sweep removes the rest, a bounded batch of channels per run, and deletes channels left empty,
 * so memory follows the live presence only. `stats.numUsers` counts distinct `info.user` values
 * (the empty user of anonymous clients counts once). After `close()`, `add`, `get` and `stats`
 * reject with `TIDINGS_ERR_STATE`; `remove` is a no-op and `close` is idempotent.
 */
export class MemoryPresence implements PresenceStore {
  readonly #clock: Clock;
  readonly #channels = new Map<string, ChannelPresence>();
  readonly #sweep = new IncrementalSweep(this.#channels, SWEEP_BATCH);
  readonly #sweeper: PeriodicTask;
  #closed = false;

  constructor(options: MemoryPresenceOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#sweeper = new PeriodicTask(this.#clock, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, () => {
      const now = this.#clock.now();
      this.#sweep.run((_, entries) => {
        dropExpired(entries, now);
        return entries.size > 0;
      });
    });
  }

  /** Channels holding at least one entry (expired ones until swept or read). */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Adds or refreshes `clientId` in `channel` until `ttlMs` from now. */
  async add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void> {
    this.#assertOpen('add');
    let entries = this.#channels.get(channel);
    if (entries === undefined) {
      entries = new Map();
      this.#channels.set(channel, entries);
    }
    entries.set(clientId, { info, expiresAt: this.#clock.now() + ttlMs });
  }

  /** Removes `clientId` from `channel`; removing an absent client is a no-op. */
  async remove(channel: string, clientId: string): Promise<void> {
    const entries = this.#channels.get(channel);
    if (entries === undefined) return;
    entries.delete(clientId);
    if (entries.size === 0) this.#channels.delete(channel);
  }

  /** Live entries of `channel`, keyed by clientId. */
  async get(channel: string): Promise<Record<string, ClientInfo>> {
    this.#assertOpen('get');
    const out: Record<string, ClientInfo> = {};
    const entries = this.#liveEntries(channel);
    if (entries !== undefined) for (const [clientId, entry] of entries) out[clientId] = entry.info;
    return out;
  }

  /** Live client and distinct user counts of `channel`. */
  async stats(channel: string): Promise<PresenceStats> {
    this.#assertOpen('stats');
    const entries = this.#liveEntries(channel);
    if (entries === undefined) return { numClients: 0, numUsers: 0 };
    const users = new Set<string>();
    for (const entry of entries.values()) users.add(entry.info.user);
    return { numClients: entries.size, numUsers: users.size };
  }

  /** Stops the sweep timer and drops all entries. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweeper.stop();
    this.#channels.clear();
  }

  #liveEntries(channel: string): ChannelPresence | undefined {
    const entries = this.#channels.get(channel);
    if (entries === undefined) return undefined;
    dropExpired(entries, this.#clock.now());
    if (entries.size > 0) return entries;
    this.#channels.delete(channel);
    return undefined;
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `MemoryPresence.${method}: presence is closed`);
  }
}

function dropExpired(entries: ChannelPresence, now: number): void {
  for (const [clientId, entry] of entries) if (entry.expiresAt <= now) entries.delete(clientId);
}
