import { describe, expect, it } from 'vitest';
import { allocateBytes, commitBytes, reserveBytes } from './slab.js';

/** True when two views share any byte of one buffer. */
function overlap(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

describe('slab allocation', () => {
  it('hands out zeroed views of the asked size that never share a byte, across several slabs', () => {
    const views = Array.from({ length: 2_000 }, (_, i) => allocateBytes(1 + (i % 300)));
    for (const [i, v] of views.entries()) {
      expect(v.length).toBe(1 + (i % 300));
      expect(v.every((b) => b === 0)).toBe(true);
      v.fill(i % 256);
    }
    const sorted = [...views].sort((a, b) => a.byteOffset - b.byteOffset);
    for (let i = 1; i < sorted.length; i++) expect(overlap(sorted[i - 1]!, sorted[i]!)).toBe(false);
    expect(new Set(views.map((v) => v.buffer)).size).toBeGreaterThan(1);
    // Writing every view left every other intact.
    for (const [i, v] of views.entries()) expect(v.every((b) => b === i % 256)).toBe(true);
  });

  it('gives large outputs a buffer of their own', () => {
    const big = allocateBytes(100_000);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(100_000);
    expect(reserveBytes(100_000)).toBeUndefined();
  });

  it('takes only the committed part of a reservation: the next allocation starts after it', () => {
    const reserved = reserveBytes(300)!;
    expect(reserved.length).toBe(300);
    reserved.fill(7, 0, 10);
    commitBytes(10);
    const next = allocateBytes(20);
    expect(overlap(reserved.subarray(0, 10), next)).toBe(false);
    expect(next.every((b) => b === 0)).toBe(true);
    expect(Array.from(reserved.subarray(0, 10))).toEqual(new Array(10).fill(7));
  });
});
