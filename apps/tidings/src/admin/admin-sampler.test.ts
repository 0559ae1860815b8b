import { latencyBucketsMs, MetricsRecorder, type SessionStats } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { AdminSampler, histogramQuantile } from './admin-sampler.js';

describe('histogramQuantile', () => {
  const bounds = [1, 2, 5, 10];
  it('interpolates inside the bucket, as histogram_quantile does', () => {
    // 10 observations in (1, 2]: the median is halfway through that bucket.
    expect(histogramQuantile(bounds, [0, 10, 0, 0, 0], 0.5)).toBe(1.5);
    // 50 in [0, 1], 50 in (5, 10]: p99 is near the top of (5, 10].
    expect(histogramQuantile(bounds, [50, 0, 0, 50, 0], 0.99)).toBeCloseTo(9.9);
    expect(histogramQuantile(bounds, [50, 0, 0, 50, 0], 0.5)).toBe(1);
  });
  it('answers the last bound for the overflow bucket and null for no data', () => {
    expect(histogramQuantile(bounds, [0, 0, 0, 0, 3], 0.5)).toBe(10);
    expect(histogramQuantile(bounds, [0, 0, 0, 0, 0], 0.5)).toBeNull();
  });
});

describe('AdminSampler', () => {
  function setup() {
    let stats: SessionStats[] = [];
    const recorder = new MetricsRecorder();
    const sampler = new AdminSampler({ sessionStats: () => stats }, recorder, { keep: 3 });
    return { recorder, sampler, setStats: (s: SessionStats[]) => (stats = s) };
  }

  it('turns counters into per-second rates and per-interval latency quantiles', () => {
    const { recorder, sampler, setStats } = setup();
    expect(sampler.sample(0)).toBeUndefined();
    setStats([
      { transport: 'websocket', codec: 'json', connections: 3, subscriptions: 5, queuedBytes: 0 },
      { transport: 'websocket', codec: 'protobuf', connections: 2, subscriptions: 2, queuedBytes: 0 },
      { transport: 'sse', codec: 'json', connections: 1, subscriptions: 1, queuedBytes: 0 },
    ]);
    for (let i = 0; i < 4; i++) recorder.published('api');
    recorder.flushed('websocket', 20, 2000);
    recorder.deliveryLatency('websocket', 3, 20);
    const first = sampler.sample(2_000);
    expect(first).toEqual({
      t: 2_000,
      connections: { websocket: 5, sse: 1 },
      subscriptions: 8,
      publicationsPerSec: 2,
      deliveriesPerSec: { websocket: 10 },
      latencyMs: { websocket: { p50: expect.any(Number), p99: expect.any(Number) } },
    });
    const p50 = first?.latencyMs.websocket?.p50 ?? 0;
    // Inside the bucket that holds 3 ms.
    const upper = latencyBucketsMs.findIndex((b) => b >= 3);
    expect(p50).toBeGreaterThan(latencyBucketsMs[upper - 1] ?? 0);
    expect(p50).toBeLessThanOrEqual(latencyBucketsMs[upper] ?? 0);

    // The next interval only sees what happened in it: slow deliveries move p50 up.
    recorder.flushed('websocket', 5, 500);
    recorder.deliveryLatency('websocket', 400, 5);
    const second = sampler.sample(3_000);
    expect(second?.publicationsPerSec).toBe(0);
    expect(second?.deliveriesPerSec).toEqual({ websocket: 5 });
    expect(second?.latencyMs.websocket?.p50 ?? 0).toBeGreaterThan(100);

    // A quiet interval has no latency, not the old one.
    expect(sampler.sample(4_000)?.latencyMs.websocket).toEqual({ p50: null, p99: null });
  });

  it('keeps the last samples and returns those after a time', () => {
    const { sampler } = setup();
    for (let t = 0; t <= 5_000; t += 1_000) sampler.sample(t);
    expect(sampler.samples().map((s) => s.t)).toEqual([3_000, 4_000, 5_000]);
    expect(sampler.samples(4_000).map((s) => s.t)).toEqual([5_000]);
  });
});
