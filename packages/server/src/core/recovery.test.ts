import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StreamPublication } from '../broker/types.js';
import { recoverFromHistory } from './recovery.js';

const pub = (offset: number): StreamPublication => ({ offset, time: 0, data: new Uint8Array([offset & 0xff]) });
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => pub(from + i));

describe('recoverFromHistory', () => {
  it('returns exactly the missed publications when the window covers them', () => {
    const out = recoverFromHistory({ offset: 5, epoch: 'e' }, { offset: 9, epoch: 'e', publications: range(6, 9) });
    expect(out.recovered).toBe(true);
    expect(out.publications.map((p) => p.offset)).toEqual([6, 7, 8, 9]);
    expect(out.position).toEqual({ offset: 9, epoch: 'e' });
  });

  it('recovers with nothing missed when the client is at the top', () => {
    const out = recoverFromHistory({ offset: 9, epoch: 'e' }, { offset: 9, epoch: 'e', publications: [] });
    expect(out).toEqual({
      recovered: true,
      result: 'recovered',
      publications: [],
      position: { offset: 9, epoch: 'e' },
    });
  });

  it('reports recovered: false on an epoch change', () => {
    const out = recoverFromHistory({ offset: 5, epoch: 'old' }, { offset: 9, epoch: 'new', publications: range(1, 9) });
    expect(out.recovered).toBe(false);
    expect(out.result).toBe('epoch_changed');
    expect(out.publications).toEqual([]);
    expect(out.position.epoch).toBe('new');
  });

  it('reports recovered: false when retention dropped the oldest missed publications', () => {
    const out = recoverFromHistory({ offset: 5, epoch: 'e' }, { offset: 20, epoch: 'e', publications: range(11, 20) });
    expect(out.recovered).toBe(false);
    expect(out.result).toBe('history_gap');
  });

  it('reports recovered: false when a client claims a position beyond the stream', () => {
    const out = recoverFromHistory({ offset: 50, epoch: 'e' }, { offset: 9, epoch: 'e', publications: range(1, 9) });
    expect(out.recovered).toBe(false);
    expect(out.result).toBe('position_ahead');
  });

  it('reports recovered: false for a hole in the middle', () => {
    const pubs = [...range(6, 7), ...range(9, 10)];
    expect(
      recoverFromHistory({ offset: 5, epoch: 'e' }, { offset: 10, epoch: 'e', publications: pubs }).recovered,
    ).toBe(false);
  });

  it('never claims recovery unless the result is exactly since+1..top (property)', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(50), fc.nat(60), fc.nat(60), (since, top, keepFrom, drop) => {
        const retained = range(Math.max(1, keepFrom), top).filter((p) => p.offset !== drop);
        const out = recoverFromHistory(
          { offset: since, epoch: 'e' },
          { offset: top, epoch: 'e', publications: retained },
        );
        if (out.recovered) {
          expect(out.publications.map((p) => p.offset)).toEqual(range(since + 1, top).map((p) => p.offset));
        } else {
          expect(out.publications).toEqual([]);
        }
      }),
    );
  });
});
