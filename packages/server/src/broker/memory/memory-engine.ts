import type { Clock } from '../../internal/clock.js';
import type { IdempotencyCacheLimits } from './idempotency-cache.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryPresence } from './memory-presence.js';
import { MemoryStateStore } from './memory-state.js';

/** Options of `createMemoryEngine`. */
export interface MemoryEngineOptions {
  /** Time source for publication times, expiry and sweep timers. Default `systemClock`. */
  readonly clock?: Clock;
  /** Stream metadata lifetime when a publish gives no positive `metaTtlMs`. Default 30 days. */
  readonly metaTtlMs?: number;
  /** Idempotency window when a publish gives none. Default 5 minutes. */
  readonly idempotencyWindowMs?: number;
  /** Period of the background sweeps of expired entries. Default 1 s. */
  readonly sweepIntervalMs?: number;
  /** Bounds of the idempotency key store. Default 100,000 keys and 16 MiB; oldest evicted first. */
  readonly idempotencyLimits?: IdempotencyCacheLimits;
}

/** The parts of a memory engine, ready for `NodeOptions`. */
export interface MemoryEngine {
  readonly broker: MemoryBroker;
  /** The same object as `broker`: the memory broker is its own history store. */
  readonly history: MemoryBroker;
  readonly presence: MemoryPresence;
  /** Latest documents of state channels (`NodeOptions.state`). */
  readonly state: MemoryStateStore;
}

/**
 * Creates the dependency-free engine of a single node: one `MemoryBroker` (broker and history)
 * and one `MemoryPresence`, sharing a clock. State lives in this process only and is lost on
 * restart; the fresh epochs a restarted engine reports tell clients so. Close `broker`, `presence`
 * and `state` to stop their sweep timers (the timers are unref'd either way).
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): MemoryEngine {
  const { clock, metaTtlMs, idempotencyWindowMs, sweepIntervalMs, idempotencyLimits } = options;
  const broker = new MemoryBroker({
    ...(clock === undefined ? {} : { clock }),
    ...(metaTtlMs === undefined ? {} : { metaTtlMs }),
    ...(idempotencyWindowMs === undefined ? {} : { idempotencyWindowMs }),
    ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
    ...(idempotencyLimits === undefined ? {} : { idempotencyLimits }),
  });
  const presence = new MemoryPresence({
    ...(clock === undefined ? {} : { clock }),
    ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
  });
  const state = new MemoryStateStore({
    ...(clock === undefined ? {} : { clock }),
    ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
  });
  return { broker, history: broker, presence, state };
}
