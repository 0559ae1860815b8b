/**
 * @tidings/client: the Tidings TypeScript SDK for browsers, Node and React Native. Platform APIs
 * (WebSocket, timers, storage) come from `globalThis` or are injected. Codecs are imported by the
 * application from `@tidings/protocol` (`jsonCodec`, `protobufCodec`, `msgpackCodec`), so a bundle
 * holds only the one it uses.
 */
export { type BackoffOptions, backoffDelay, defaultBackoff } from './backoff.js';
export { type AcceptResult, ChannelStream } from './channel-stream.js';
export { type ClientEvents, type ClientOptions, TidingsClient } from './client.js';
export { type Clock, systemClock, type TimerHandle } from './clock.js';
export {
  type ConnectionInput,
  type ConnectionReason,
  type ConnectionState,
  connectionTable,
  nextConnectionState,
} from './connection-machine.js';
export { Emitter, type EventMap } from './emitter.js';
export { ConnectionLostError, isUnauthorized, UnauthorizedError } from './errors.js';
export {
  type FetchStreamTransportOptions,
  fetchStreamTransport,
} from './fetch-stream-transport.js';
export type { FetchLike, ResponseLike } from './http.js';
export { IndexedDbOutboxStore, type IndexedDbOutboxStoreOptions } from './indexeddb-store.js';
export { lightJsonCodec } from './light-json-codec.js';
export {
  checkOutboxLimits,
  defaultOutboxLimits,
  type KeyValueStorage,
  LocalStorageOutboxStore,
  MemoryOutboxStore,
  type OutboxEntry,
  type OutboxLimits,
  type OutboxStore,
} from './outbox.js';
export { type PollTransportOptions, pollTransport } from './poll-transport.js';
export {
  type EventSourceConstructor,
  type EventSourceLike,
  type SseTransportOptions,
  sseTransport,
} from './sse-transport.js';
export { type ClientPublication, type Discontinuity, Subscription, type SubscriptionEvents } from './subscription.js';
export {
  nextSubscriptionState,
  type SubscriptionInput,
  type SubscriptionReason,
  type SubscriptionState,
  subscriptionTable,
} from './subscription-machine.js';
export type { Transport, TransportFactory, TransportHandlers } from './transport.js';
export {
  type WebSocketConstructor,
  type WebSocketLike,
  type WebSocketTransportOptions,
  webSocketTransport,
} from './websocket-transport.js';
