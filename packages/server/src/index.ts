/**
 * @tidings/server: the Tidings library. A `TidingsNode` with an engine (memory, Redis, NATS),
 * an authenticator and edges (WebSocket, HTTP API) that the `tidings` CLI wires together, or
 * that any Node server can embed.
 */
export * from './api/index.js';
export * from './auth/index.js';
export {
  type DecodedPublicationBody,
  decodeClientInfo,
  decodePublicationBody,
  decodeStreamPublication,
  encodeClientInfo,
  encodePublicationBody,
  type PublicationBody,
} from './broker/body-codec.js';
export * from './broker/ipc/index.js';
export * from './broker/memory/index.js';
export type * from './broker/types.js';
export * from './core/index.js';
export * from './embed/index.js';
export { type Clock, FakeClock, systemClock, type TimerHandle } from './internal/clock.js';
export { applyMergePatch, createMergePatch, type JsonValue, jsonEqual } from './internal/merge-patch.js';
export { type Logger, silentLogger } from './observability/logger.js';
export type {
  EngineOperation,
  LimitName,
  LimitScope,
  MetricsSink,
  PublicationSource,
  RecoveryResult,
} from './observability/metrics.js';
export { peerClosedCode } from './observability/metrics.js';
export {
  BucketHistogram,
  type EngineFigures,
  latencyBucketsMs,
  MetricsRecorder,
  type MetricsSnapshot,
  splitDisconnectKey,
  splitLimitKey,
  type TransportFigures,
} from './observability/metrics-recorder.js';
export type { NodeSpanName, SpanAttributes, TraceHooks } from './observability/tracing.js';
export * from './openapi/index.js';
export * from './proxy/index.js';
export * from './transport/emulation/index.js';
export * from './transport/http-stream/index.js';
export * from './transport/one-way/index.js';
export { corsHeaders, isOriginAllowed } from './transport/origin.js';
export * from './transport/poll/index.js';
export * from './transport/sse/index.js';
export type { SessionContext, Transport } from './transport/types.js';
export * from './transport/websocket/index.js';
