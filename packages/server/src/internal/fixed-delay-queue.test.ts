import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { FixedDelayQueue } from './fixed-delay-queue.js';

function setup(delayMs = 1_000) {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  const queue = new FixedDelayQueue<string>(clock, delayMs, (item) => fired.push(item));
  return { clock, fired, queue };
}

describe('FixedDelayQueue', () => {
  it('fires every item exactly its delay after scheduling, in order', () => {
    const { clock, fired, queue } = setup();
    queue.schedule('a');
    clock.advance(300);
    queue.schedule('b');
    clock.advance(699);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['a']);
    clock.advance(299);
    expect(fired).toEqual(['a']);
    clock.advance(1);
    expect(fired).toEqual(['a', 'b']);
    expect(queue.size).toBe(0);
  });

  it('does not fire a cancelled item, and stale or unknown tickets are no-ops', () => {
    const { clock, fired, queue } = setup();
    const a = queue.schedule('a');
    const b = queue.schedule('b');
    queue.cancel(a);
    queue.cancel(a);
    clock.advance(1_000);
    expect(fired).toEqual(['b']);
    queue.cancel(b); // already fired
    queue.cancel(12345); // never issued
    const c = queue.schedule('c');
    expect(c).toBeGreaterThan(b);
    clock.advance(1_000);
    expect(fired).toEqual(['b', 'c']);
  });

  it('fires an item scheduled from a fire callback one full delay later', () => {
    const clock = new FakeClock(0);
    const times: number[] = [];
    const queue: FixedDelayQueue<number> = new FixedDelayQueue<number>(clock, 500, (n) => {
      times.push(clock.now());
      if (n < 3) queue.schedule(n + 1);
    });
    queue.schedule(1);
    clock.advance(5_000);
    expect(times).toEqual([500, 1_000, 1_500]);
  });

  it('keeps tickets valid across compaction of many fired entries', () => {
    const { clock, fired, queue } = setup(10);
    for (let i = 0; i < 3_000; i++) queue.schedule(`x${i}`);
    clock.advance(5);
    const keep = queue.schedule('keep');
    const drop = queue.schedule('drop');
    clock.advance(5); // the first 3,000 fire and the array is compacted
    expect(fired).toHaveLength(3_000);
    queue.cancel(drop);
    clock.advance(5);
    expect(fired.slice(3_000)).toEqual(['keep']);
    expect(keep).toBeLessThan(drop);
    expect(queue.size).toBe(0);
  });
});
