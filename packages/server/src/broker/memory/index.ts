export {
  DEFAULT_IDEMPOTENCY_MAX_BYTES,
  DEFAULT_IDEMPOTENCY_MAX_KEYS,
  type IdempotencyCacheLimits,
} from './idempotency-cache.js';
export {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DEFAULT_META_TTL_MS,
  MemoryBroker,
  type MemoryBrokerOptions,
} from './memory-broker.js';
export { createMemoryEngine, type MemoryEngine, type MemoryEngineOptions } from './memory-engine.js';
export { MemoryPresence, type MemoryPresenceOptions } from './memory-presence.js';
export { MemoryStateStore, type MemoryStateStoreOptions } from './memory-state.js';
