import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Logger, NodeSpanName, SpanAttributes, TraceHooks } from '@tidings/server';
import type { TidingsConfig } from '../config/schema.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
type SyncRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** `/<package>.<Service>/<Method>`: the path of a Connect, gRPC or gRPC-Web call. */
const rpcPath = /^\/([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)\/([A-Za-z_]\w*)$/;

/** What `tidings serve` wires when tracing is on. */
export interface Tracing {
  /** Passed to the node: engine publish and fan-out spans. */
  readonly hooks: TraceHooks;
  /** Wraps the server API handler: a SERVER span per request, continuing its `traceparent`. */
  traceApi(handler: Handler): Handler;
  /**
   * Wraps the Connect / gRPC / gRPC-Web route: a SERVER span `<package>.<Service>/<Method>` per
   * call (a `Subscribe` stream's span lasts the stream), continuing its `traceparent`.
   */
  traceRpc(route: SyncRoute): SyncRoute;
  /** A `fetch` for the backend proxy: a CLIENT span per call, `traceparent` sent along. */
  readonly fetch: typeof fetch;
  /** Ends tracing: exports what is buffered, then stops. Idempotent. */
  shutdown(): Promise<void>;
}

/** Options of `createTracing`. */
export interface CreateTracingOptions {
  readonly config: TidingsConfig['tracing'];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly version: string;
  readonly nodeName?: string;
  readonly logger: Logger;
  /** Test seam: where spans go instead of OTLP/HTTP. */
  readonly exporter?: SpanExporter;
}

/**
 * True when tracing should run: `tracing.enabled`, `tracing.otlpEndpoint`, or the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` variables — unless
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingWanted(config: TidingsConfig['tracing'], env: Readonly<Record<string, string | undefined>>) {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return (
    config.enabled ||
    config.otlpEndpoint !== undefined ||
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT) ||
    Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  );
}

/**
 * OpenTelemetry tracing for `tidings serve`, undefined when not wanted (see `tracingWanted`).
 * Spans are batched and exported over OTLP/HTTP as JSON to `tracing.otlpEndpoint`, else to where
 * the standard `OTEL_EXPORTER_OTLP_*` variables say (default `http://localhost:4318/v1/traces`).
 * Nothing is registered globally (no global tracer provider, context manager or propagator), so
 * an application embedding Tidings keeps its own OpenTelemetry setup.
 */
export function createTracing(options: CreateTracingOptions): Tracing | undefined {
  const { config } = options;
  if (options.exporter === undefined && !tracingWanted(config, options.env)) return undefined;
  const exporter =
    options.exporter ?? new OTLPTraceExporter(config.otlpEndpoint === undefined ? {} : { url: config.otlpEndpoint });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': options.version,
      ...(options.nodeName === undefined ? {} : { 'service.instance.id': options.nodeName }),
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('tidings', options.version);
  const contexts = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const hooks = createTraceHooks(tracer, contexts);
  let stopped: Promise<void> | undefined;
  options.logger.info({ endpoint: config.otlpEndpoint ?? 'from OTEL_EXPORTER_OTLP_* or default' }, 'tracing on');

  return {
    hooks,
    traceApi(handler) {
      return (req, res) => {
        const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const span = tracer.startSpan(
          `${req.method ?? 'POST'} ${path}`,
          {
            kind: SpanKind.SERVER,
            attributes: { 'http.request.method': req.method ?? '', 'url.path': path, 'http.route': path },
          },
          parent,
        );
        const end = () => {
          span.setAttribute('http.response.status_code', res.statusCode);
          if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        };
        res.once('close', end);
        return contexts.with(trace.setSpan(parent, span), () => handler(req, res));
      };
    },
    traceRpc(route) {
      return (req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const match = rpcPath.exec(path);
        if (match === null) return route(req, res);
        const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
        const contentType = String(req.headers['content-type'] ?? '');
        const span = tracer.startSpan(
          path.slice(1),
          {
            kind: SpanKind.SERVER,
            attributes: {
              'rpc.system': contentType.startsWith('application/grpc') ? 'grpc' : 'connect_rpc',
              'rpc.service': match[1] ?? '',
              'rpc.method': match[2] ?? '',
              'url.path': path,
            },
          },
          parent,
        );
        res.once('close', () => {
          span.setAttribute('http.response.status_code', res.statusCode);
          span.end();
        });
        return contexts.with(trace.setSpan(parent, span), () => route(req, res));
      };
    },
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      const span = tracer.startSpan(
        method,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': method,
            'url.full': `${url.origin}${url.pathname}`,
            'server.address': url.hostname,
          },
        },
        contexts.active(),
      );
      const headers = new Headers(init?.headers);
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(contexts.active(), span), carrier, defaultTextMapSetter);
      for (const [k, v] of Object.entries(carrier)) headers.set(k, v);
      try {
        const response = await fetch(input, { ...init, headers });
        span.setAttribute('http.response.status_code', response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    shutdown() {
      stopped ??= provider
        .shutdown()
        .catch((error: unknown) => options.logger.warn({ err: String(error) }, 'tracing: final export failed'))
        .finally(() => {
          contexts.disable();
        });
      return stopped;
    },
  };
}

/** `TraceHooks` over an OpenTelemetry tracer, parenting on (and setting) `contexts`' active context. */
export function createTraceHooks(tracer: Tracer, contexts: AsyncLocalStorageContextManager): TraceHooks {
  const start = (name: NodeSpanName, attributes: SpanAttributes): [Span, Context] => {
    const parent = contexts.active();
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
    return [span, trace.setSpan(parent, span)];
  };
  return {
    async span(name, attributes, fn) {
      const [span, ctx] = start(name, attributes);
      try {
        return await contexts.with(ctx, fn);
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    spanSync(name, attributes, fn) {
      const [span, ctx] = start(name, attributes);
      try {
        contexts.with(ctx, fn);
      } catch (error) {
        failed(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  };
}

function failed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
