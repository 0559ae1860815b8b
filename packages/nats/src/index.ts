export { NatsConnector, type NatsConnectorOptions, type NatsHandles } from './connection.js';
export { DEFAULT_STREAM_NAME, DEFAULT_SUBJECT_PREFIX, NatsNames } from './names.js';
export { NatsBroker, type NatsBrokerOptions } from './nats-broker.js';
export { createNatsEngine, type NatsEngine, type NatsEngineOptions } from './nats-engine.js';
export { NatsPresence } from './nats-presence.js';
export { NatsRateCounter } from './nats-rate-counter.js';
export { NatsStateStore } from './nats-state.js';
