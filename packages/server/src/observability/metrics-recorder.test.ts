import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketHistogram, latencyBucketsMs, MetricsRecorder, splitDisconnectKey } from './metrics-recorder.js';

describe('BucketHistogram', () => {
  it('puts every value in the first bucket whose bound is not below it (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(20_000), fc.double({ min: 0, max: 20_000, noNaN: true })), (v) => {
        const h = new BucketHistogram();
        h.observe(v, 3);
        const expected = latencyBucketsMs.findIndex((b) => v <= b);
        const index = expected === -1 ? latencyBucketsMs.length : expected;
        expect(h.counts[index]).toBe(3);
        expect(h.count).toBe(3);
        expect(h.sum).toBeCloseTo(v * 3);
      }),
    );
  });
});

describe('MetricsRecorder', () => {
  it('keeps counts per label value', () => {
    const r = new MetricsRecorder();
    r.flushed('websocket', 3, 100);
    r.flushed('sse', 1, 10);
    r.flushed('websocket', 2, 50);
    r.disconnected('sse', 3008);
    r.disconnected('sse', 3008);
    r.engineCall('publish', 2, false);
    expect(r.transports.get('websocket')).toMatchObject({ deliveries: 5, bytes: 150 });
    expect(r.transports.get('sse')).toMatchObject({ deliveries: 1, bytes: 10 });
    const [[key, n]] = [...r.disconnects];
    expect({ ...splitDisconnectKey(key!), n }).toEqual({ transport: 'sse', code: '3008', n: 2 });
    expect(r.engine.get('publish')?.errors).toBe(1);
  });
});
