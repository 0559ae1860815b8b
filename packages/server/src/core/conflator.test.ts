import { describe, expect, it } from 'vitest';
import { FakeClock } from '../internal/clock.js';
import { Conflator } from './conflator.js';

function setup(intervalMs: number, canSend?: () => boolean) {
  const clock = new FakeClock();
  const sends: Array<{ at: number; items: string[] }> = [];
  const start = clock.now();
  const c = new Conflator<string>(
    clock,
    { intervalMs, ...(canSend ? { canSend, retryMs: 10 } : {}) },
    { conflatorSend: (items) => sends.push({ at: clock.now() - start, items }) },
  );
  return { clock, sends, c };
}

describe('Conflator', () => {
  it('sends at once under the rate, then holds the latest per key until the window opens', () => {
    const { clock, sends, c } = setup(200);
    expect(c.offer('a', 'a1')).toBe(true);
    expect(c.offer('a', 'a2')).toBe(false);
    expect(c.offer('b', 'b1')).toBe(false);
    expect(c.offer('a', 'a3')).toBe(false);
    expect(c.heldCount).toBe(2);
    expect(c.replaced).toBe(1);
    clock.advance(199);
    expect(sends).toEqual([{ at: 0, items: ['a1'] }]);
    clock.advance(1);
    expect(sends[1]).toEqual({ at: 200, items: ['a3', 'b1'] });
    expect(c.heldCount).toBe(0);
    // After a quiet window the next item goes at once again.
    clock.advance(500);
    expect(c.offer('b', 'b2')).toBe(true);
    expect(sends[2]).toEqual({ at: 700, items: ['b2'] });
  });

  it('never sends a key more than once per window under a fast stream, and ends on the latest', () => {
    const { clock, sends, c } = setup(200);
    // 1,000 updates/s over 3 keys for 2 s: 1 ms apart.
    for (let i = 0; i < 2000; i++) {
      c.offer(`k${i % 3}`, `k${i % 3}:${i}`);
      clock.advance(1);
    }
    clock.advance(1000);
    for (let i = 1; i < sends.length; i++) expect(sends[i]!.at - sends[i - 1]!.at).toBeGreaterThanOrEqual(200);
    for (const s of sends) expect(new Set(s.items.map((x) => x.split(':')[0])).size).toBe(s.items.length);
    expect(sends.length).toBeLessThanOrEqual(11);
    const last = new Map<string, string>();
    for (const s of sends) for (const x of s.items) last.set(x.split(':')[0]!, x);
    expect([...last.values()].sort()).toEqual(['k0:1998', 'k1:1999', 'k2:1997']);
  });

  it('holds while the receiver cannot take more and sends the latest once it can', () => {
    let open = false;
    const { clock, sends, c } = setup(0, () => open);
    expect(c.offer('a', 'a1')).toBe(false);
    c.offer('a', 'a2');
    clock.advance(100);
    expect(sends).toEqual([]);
    open = true;
    clock.advance(10);
    expect(sends).toEqual([{ at: 110, items: ['a2'] }]);
    expect(c.offer('a', 'a3')).toBe(true);
  });

  it('close drops what is held and fires nothing', () => {
    const { clock, sends, c } = setup(100);
    c.offer('a', '1');
    c.offer('a', '2');
    c.close();
    clock.advance(1000);
    expect(sends.map((s) => s.items)).toEqual([['1']]);
    expect(c.offer('a', '3')).toBe(false);
  });
});
