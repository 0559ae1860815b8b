export { ClusterClient, type NodeRedisCluster, type RedisClusterConnectionOptions } from './cluster-client.js';
export { RedisClusterConnection } from './cluster-connection.js';
export { RedisClusterSubscriber } from './cluster-subscriber.js';
export { type LuaScript, RedisConnection, type RedisConnectionOptions } from './connection.js';
export { DEFAULT_KEY_PREFIX, KeySpace } from './keys.js';
export {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DEFAULT_META_TTL_MS,
  RedisBroker,
  type RedisBrokerOptions,
} from './redis-broker.js';
export { createRedisEngine, type RedisEngine, type RedisEngineOptions } from './redis-engine.js';
export { RedisPresence } from './redis-presence.js';
export { RedisRateCounter } from './redis-rate-counter.js';
export { RedisStateStore } from './redis-state.js';
export { RedisSubscriber } from './subscriber.js';
export type { PubSubListener, RedisCommands, RedisSubscriptions } from './transport.js';
