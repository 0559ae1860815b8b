import { silentLogger } from '@tidings/server';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Canary } from './canary.js';
import type { CanaryPayload, CanaryProbe } from './probe.js';

/** A probe whose delivery the test controls: `deliver` decides whether a publication reaches it. */
class FakeProbe implements CanaryProbe {
  connected = false;
  connects = 0;
  constructor(
    readonly transport: string,
    public deliver = true,
  ) {}
  async connect(): Promise<void> {
    this.connects++;
    this.connected = true;
  }
  close(): void {
    this.connected = false;
  }
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return match?.value ?? 0;
}

let canary: Canary | undefined;
afterEach(() => {
  canary?.stop();
  vi.useRealTimers();
});

function setup(publish?: () => Promise<unknown>) {
  vi.useFakeTimers();
  const registry = new Registry();
  const good = new FakeProbe('websocket');
  const broken = new FakeProbe('sse', false);
  const c: Canary = new Canary({
    id: 'node-1',
    publish:
      publish ??
      (async (data) => {
        const { seq } = JSON.parse(new TextDecoder().decode(data)) as CanaryPayload;
        for (const p of [good, broken]) if (p.deliver) c.received(p.transport, seq);
      }),
    probes: [good, broken],
    intervalMs: 1000,
    timeoutMs: 500,
    registry,
    logger: silentLogger,
  });
  canary = c;
  return { c, registry, good, broken };
}

describe('Canary', () => {
  it('counts a delivery per working probe and a timeout per broken one', async () => {
    const { c, registry } = setup();
    await c.start();
    await vi.advanceTimersByTimeAsync(2600); // rounds at 0, 1000, 2000; the third has timed out
    expect(await value(registry, 'tidings_canary_rounds_total', { transport: 'websocket' })).toBe(3);
    expect(await registry.metrics()).toContain('tidings_canary_latency_seconds_count{transport="websocket"} 3\n');
    expect(await value(registry, 'tidings_canary_failures_total', { transport: 'websocket', reason: 'timeout' })).toBe(
      0,
    );
    expect(await value(registry, 'tidings_canary_failures_total', { transport: 'sse', reason: 'timeout' })).toBe(3);
    expect(await value(registry, 'tidings_canary_last_success_timestamp_seconds', { transport: 'sse' })).toBe(0);
    expect(
      await value(registry, 'tidings_canary_last_success_timestamp_seconds', { transport: 'websocket' }),
    ).toBeGreaterThan(0);
  });

  it('ignores a receipt of an older round or of another canary round number', async () => {
    const { c, registry, broken } = setup();
    await c.start();
    await vi.advanceTimersByTimeAsync(600);
    c.received('sse', 1); // round 1 already timed out
    c.received('sse', 99);
    broken.deliver = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(await value(registry, 'tidings_canary_failures_total', { transport: 'sse', reason: 'timeout' })).toBe(1);
    expect(
      await value(registry, 'tidings_canary_last_success_timestamp_seconds', { transport: 'sse' }),
    ).toBeGreaterThan(0);
  });

  it('counts a disconnected probe and reconnects it', async () => {
    const { c, registry, good } = setup();
    await c.start();
    good.close();
    await vi.advanceTimersByTimeAsync(1000);
    expect(
      await value(registry, 'tidings_canary_failures_total', { transport: 'websocket', reason: 'disconnected' }),
    ).toBe(1);
    expect(good.connects).toBe(2);
    expect(good.connected).toBe(true);
  });

  it('counts a failed publish on every probe', async () => {
    const { c, registry } = setup(() => Promise.reject(new Error('engine down')));
    await c.start();
    await vi.advanceTimersByTimeAsync(1500);
    for (const transport of ['websocket', 'sse']) {
      expect(await value(registry, 'tidings_canary_failures_total', { transport, reason: 'publish' })).toBe(2);
      expect(await value(registry, 'tidings_canary_failures_total', { transport, reason: 'timeout' })).toBe(0);
    }
  });
});
