import { describe, expect, it } from 'vitest';
import { RestartBackoff } from './backoff.js';

describe('RestartBackoff', () => {
  it('doubles the delay per consecutive crash of a slot, up to the maximum', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 30_000 });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next(0, 10))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('counts each slot on its own and starts again after a worker ran long enough', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 10_000, resetAfterMs: 30_000 });
    backoff.next(0, 10);
    backoff.next(0, 10);
    expect(backoff.next(1, 10)).toBe(100);
    expect(backoff.next(0, 10)).toBe(400);
    expect(backoff.next(0, 30_000)).toBe(100);
    expect(backoff.next(0, 10)).toBe(200);
  });
});
