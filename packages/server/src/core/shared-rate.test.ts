import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../internal/clock.js';
import { type SharedRateCounter, SharedWindowLimiter } from './shared-rate.js';

/** One in-memory store shared by several limiters, as Redis is by several nodes. */
function memoryCounter(): SharedRateCounter & { fail: boolean; totals: Map<string, number> } {
  const totals = new Map<string, number>();
  return {
    fail: false,
    totals,
    async add(scope, windowId, counts) {
      if (this.fail) throw new Error('store unreachable');
      const out = new Map<string, number>();
      for (const [key, n] of counts) {
        const k = `${scope}:${windowId}:${key}`;
        totals.set(k, (totals.get(k) ?? 0) + n);
        out.set(key, totals.get(k) ?? 0);
      }
      return out;
    },
  };
}

function fakeClock(start = 1_000_000): Clock & { t: number } {
  return {
    t: start,
    now() {
      return this.t;
    },
    setTimeout: () => 0 as unknown as TimerHandle,
    clearTimeout: () => undefined,
  };
}

const limiter = (counter: SharedRateCounter, clock: Clock, limit = 10) =>
  new SharedWindowLimiter({ scope: 'test', limit, counter, clock, syncMs: 60_000 });

describe('SharedWindowLimiter', () => {
  it('holds the limit across two nodes: a key spent on A is refused on B after one exchange', async () => {
    const counter = memoryCounter();
    const clock = fakeClock();
    const a = limiter(counter, clock);
    const b = limiter(counter, clock);
    for (let i = 0; i < 10; i++) expect(a.allow('alice')).toBe(true);
    expect(a.allow('alice')).toBe(false);
    await a.sync();
    // B has not heard of alice yet: one event gets through (the documented overshoot), then
    // the exchange shows the cluster total and B refuses.
    expect(b.allow('alice')).toBe(true);
    await b.sync();
    expect(b.allow('alice')).toBe(false);
    expect(counter.totals.get(`test:${Math.floor(clock.t / 1000)}:alice`)).toBe(11);
    // Other keys are untouched.
    expect(b.allow('bob')).toBe(true);
    a.close();
    b.close();
  });

  it('starts afresh in the next window', async () => {
    const counter = memoryCounter();
    const clock = fakeClock();
    const a = limiter(counter, clock, 2);
    expect([a.allow('k'), a.allow('k'), a.allow('k')]).toEqual([true, true, false]);
    await a.sync();
    clock.t += 1000;
    expect(a.allow('k')).toBe(true);
    a.close();
  });

  it('enforces the limit on this node alone while the store is unreachable, and reports later', async () => {
    const counter = memoryCounter();
    counter.fail = true;
    const clock = fakeClock();
    const a = limiter(counter, clock, 3);
    expect([a.allow('k'), a.allow('k')]).toEqual([true, true]);
    await a.sync();
    expect([a.allow('k'), a.allow('k')]).toEqual([true, false]);
    counter.fail = false;
    await a.sync();
    expect(counter.totals.get(`test:${Math.floor(clock.t / 1000)}:k`)).toBe(3);
    a.close();
  });

  it('bounds the keys it tracks per window', () => {
    const counter = memoryCounter();
    const a = new SharedWindowLimiter({
      scope: 's',
      limit: 5,
      counter,
      clock: fakeClock(),
      maxKeys: 2,
      syncMs: 60_000,
    });
    expect([a.allow('a'), a.allow('b'), a.allow('c'), a.allow('a')]).toEqual([true, true, false, true]);
    a.close();
  });
});
