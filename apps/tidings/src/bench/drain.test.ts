import { describe, expect, it } from 'vitest';
import { drainDeliveries } from './drain.js';

/** A fake clock the drain's sleep advances, and a delivery count that follows a script. */
function scripted(counts: (t: number) => number) {
  let t = 0;
  return {
    delivered: () => counts(t),
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    elapsed: () => t,
  };
}

const limits = { idleMs: 2_500, maxMs: 60_000, pollMs: 50 };

describe('drainDeliveries', () => {
  it('waits through a backlog that keeps arriving for longer than any fixed drain', async () => {
    // 10 s of backlog, one more delivery every 100 ms, until all 100 arrived.
    const s = scripted((t) => Math.min(100, Math.floor(t / 100)));
    const why = await drainDeliveries(s.delivered, 100, () => false, limits, undefined, s.now, s.sleep);
    expect(why).toBe('complete');
    expect(s.elapsed()).toBeGreaterThanOrEqual(10_000);
  });

  it('stops idleMs after the count stopped moving: the rest is lost, not late', async () => {
    const s = scripted((t) => Math.min(90, Math.floor(t / 100)));
    const why = await drainDeliveries(s.delivered, 100, () => false, limits, undefined, s.now, s.sleep);
    expect(why).toBe('idle');
    // Last delivery at 9 s, then 2.5 s without one.
    expect(s.elapsed()).toBeGreaterThanOrEqual(11_500);
    expect(s.elapsed()).toBeLessThan(11_700);
  });

  it('stops at maxMs even while deliveries still trickle in', async () => {
    const s = scripted((t) => Math.floor(t / 100));
    const why = await drainDeliveries(s.delivered, 1_000_000, () => false, limits, undefined, s.now, s.sleep);
    expect(why).toBe('timeout');
    expect(s.elapsed()).toBeGreaterThanOrEqual(60_000);
    expect(s.elapsed()).toBeLessThan(60_100);
  });

  it('returns at once when everything arrived or the run failed', async () => {
    const done = scripted(() => 5);
    expect(await drainDeliveries(done.delivered, 5, () => false, limits, undefined, done.now, done.sleep)).toBe(
      'complete',
    );
    expect(done.elapsed()).toBe(0);
    const failing = scripted(() => 0);
    expect(await drainDeliveries(failing.delivered, 5, () => true, limits, undefined, failing.now, failing.sleep)).toBe(
      'failed',
    );
  });

  it('does not call a standing count idle while the workers have not reported twice since it moved', async () => {
    // Deliveries stop moving at 1 s, but the workers are busy reading a backlog and report
    // only every 4 s (heartbeats at 4, 8, 12 s): idle can be decided at 8 s at the earliest.
    const s = scripted((t) => Math.min(50, Math.floor(t / 20)));
    const beats = () => Math.floor(s.now() / 4_000);
    const why = await drainDeliveries(s.delivered, 100, () => false, limits, beats, s.now, s.sleep);
    expect(why).toBe('idle');
    expect(s.elapsed()).toBeGreaterThanOrEqual(8_000);
    expect(s.elapsed()).toBeLessThan(8_100);
  });
});
