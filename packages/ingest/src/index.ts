export { type ChannelResolution, type ChannelRule, compileChannelRule } from './channel-rule.js';
export { deliver, emptyStats, isTemporaryFailure } from './deliver.js';
export {
  createJetStreamSource,
  type JetStreamSource,
  type JetStreamSourceOptions,
} from './nats/jetstream-source.js';
export {
  checkOutboxNames,
  defaultOutboxNames,
  type OutboxNames,
  outboxMigrationSql,
} from './outbox/outbox-sql.js';
export { createPostgresOutbox, type PostgresOutbox, type PostgresOutboxOptions } from './outbox/postgres-outbox.js';
export { createRabbitMqSource, type RabbitMqSource, type RabbitMqSourceOptions } from './rabbitmq/rabbitmq-source.js';
export {
  createRedisStreamsSource,
  type RedisStreamsSource,
  type RedisStreamsSourceOptions,
} from './redis/redis-streams-source.js';
export type {
  DeliveryOutcome,
  IngestLogger,
  IngestMessage,
  IngestPublisher,
  IngestSource,
  IngestStats,
  UnmappedPolicy,
} from './types.js';
