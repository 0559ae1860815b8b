import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../internal/clock.js';
import { IdempotencyCache } from './idempotency-cache.js';
import { MemoryBroker } from './memory-broker.js';

const result = (offset: number) => ({ offset, epoch: 'e1' });

describe('IdempotencyCache bounds (issue 15: 20,000 distinct keys held ~40 MB)', () => {
  it('20,000 distinct 256-character keys stay within maxBytes, evicting the oldest first', () => {
    const cache = new IdempotencyCache(1000, { maxBytes: 1024 * 1024 });
    for (let i = 0; i < 20_000; i++) cache.set('chat:a', `${i}:`.padEnd(256, 'k'), result(i + 1), 1_000_000);
    expect(cache.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(cache.evicted).toBe(20_000 - cache.size);
    expect(cache.size).toBeGreaterThan(0);
    // The newest key is kept, the oldest is gone.
    expect(cache.get('chat:a', '19999:'.padEnd(256, 'k'), 0)).toEqual(result(20_000));
    expect(cache.get('chat:a', '0:'.padEnd(256, 'k'), 0)).toBeUndefined();
  });

  it('maxKeys caps the count; replacing a key or expiring it returns its bytes', () => {
    const cache = new IdempotencyCache(1000, { maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) cache.set('ch', k, result(1), 100);
    expect(cache.size).toBe(3);
    expect(cache.evicted).toBe(1);
    expect(cache.get('ch', 'a', 0)).toBeUndefined();
    const before = cache.bytes;
    cache.set('ch', 'b', result(2), 100);
    expect(cache.bytes).toBe(before);
    cache.sweep(100);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('refuses non-positive bounds with TIDINGS_ERR_CONFIG', () => {
    expect(() => new IdempotencyCache(10, { maxKeys: 0 })).toThrow(/idempotency.maxKeys/);
    expect(() => new IdempotencyCache(10, { maxBytes: 1.5 })).toThrow(/idempotency.maxBytes/);
  });

  it('MemoryBroker applies idempotencyLimits: a key evicted early publishes again', async () => {
    const broker = new MemoryBroker({ clock: new FakeClock(0), idempotencyLimits: { maxKeys: 2 } });
    const opts = (idempotencyKey: string) => ({ idempotencyKey, history: { size: 10, ttlMs: 60_000 } });
    await broker.publish('a', new Uint8Array([1]), opts('k1'));
    await broker.publish('a', new Uint8Array([1]), opts('k2'));
    expect((await broker.publish('a', new Uint8Array([1]), opts('k2'))).suppressed).toBe(true);
    await broker.publish('a', new Uint8Array([1]), opts('k3'));
    expect(broker.idempotencyKeyCount).toBe(2);
    expect(broker.idempotencyStats.evicted).toBe(1);
    expect((await broker.publish('a', new Uint8Array([1]), opts('k1'))).suppressed).toBeUndefined();
    await broker.close();
  });
});
