import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { silentLogger } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { createTracing, tracingWanted } from './otel-tracing.js';

/** Keeps its spans on shutdown (the SDK's clears them), so the test reads them after the final flush. */
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const config = (tracing: object = {}) => configSchema.parse({ tracing }).tracing;

describe('tracingWanted', () => {
  it('is off by default and on when configured or when the standard variables name an endpoint', () => {
    expect(tracingWanted(config(), {})).toBe(false);
    expect(createTracing({ config: config(), env: {}, version: '1', logger: silentLogger })).toBeUndefined();
    expect(tracingWanted(config({ enabled: true }), {})).toBe(true);
    expect(tracingWanted(config({ otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' }), {})).toBe(true);
    expect(tracingWanted(config(), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingWanted(config(), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingWanted(config({ enabled: true }), { OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingWanted(config({ enabled: true }), { OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });
});

describe('createTracing hooks', () => {
  it('nests spans opened inside a span and marks a failure as an error', async () => {
    const exporter = new KeepingExporter();
    const tracing = createTracing({ config: config(), env: {}, version: '1', logger: silentLogger, exporter });
    if (tracing === undefined) throw new Error('expected tracing');
    await tracing.hooks.span('tidings.engine.publish', { 'messaging.destination.name': 'a:b' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      tracing.hooks.spanSync('tidings.fanout', {}, () => {});
    });
    await expect(
      tracing.hooks.span('tidings.engine.publish', {}, () => Promise.reject(new Error('engine down'))),
    ).rejects.toThrow('engine down');
    await tracing.shutdown();
    const spans = exporter.getFinishedSpans();
    const [outer, failed] = spans.filter((s) => s.name === 'tidings.engine.publish');
    const inner = spans.find((s) => s.name === 'tidings.fanout');
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(inner?.spanContext().traceId).toBe(outer?.spanContext().traceId);
    expect(outer?.status.code).toBe(0);
    expect(failed?.status).toMatchObject({ code: 2, message: 'engine down' });
    expect(failed?.parentSpanContext).toBeUndefined();
  });
});
