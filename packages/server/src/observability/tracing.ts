/** Span attribute values: strings, numbers and booleans only. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/**
 * The spans the node opens: `tidings.engine.publish` around the engine's append (history and
 * broadcast), `tidings.fanout` around the hub's delivery of one publication to this node's
 * subscribers.
 */
export type NodeSpanName = 'tidings.engine.publish' | 'tidings.fanout';

/**
 * Where the node opens spans. The core knows no tracing library: `tidings serve` passes an
 * OpenTelemetry implementation (apps/tidings/src/tracing). Absent (the default): no span is
 * opened and the hot path pays nothing beyond a check made once at start.
 *
 * Contract for implementations: a span's parent is the caller's active trace context (e.g. the
 * API request's span); while `fn` runs (and in its async continuations) the new span is the
 * active context, so spans opened inside are its children. The span ends when `fn` returns or
 * its promise settles; a throw or rejection marks it as an error and is rethrown unchanged.
 */
export interface TraceHooks {
  span<T>(name: NodeSpanName, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T>;
  spanSync(name: NodeSpanName, attributes: SpanAttributes, fn: () => void): void;
}
