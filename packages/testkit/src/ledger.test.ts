import { describe, expect, it } from 'vitest';
import { createLedger, type Ledger } from './ledger.js';
import { formatLedgerReport } from './ledger-report.js';

const E = 'ep1';
const F = 'ep2';

function publish(ledger: Ledger, channel: string, epoch: string, from: number, to: number): void {
  for (let o = from; o <= to; o++) ledger.acked(channel, { offset: o, epoch, id: `${channel}/${epoch}/${o}` });
}

function receive(ledger: Ledger, sub: string, channel: string, epoch: string, offsets: number[]): void {
  for (const o of offsets) ledger.received(sub, channel, { offset: o, epoch, id: `${channel}/${epoch}/${o}` });
}

describe('ledger', () => {
  it('reports a clean run as ok', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 5);
    receive(l, 's1', 'a', E, [1, 2, 3, 4, 5]);
    receive(l, 's2', 'a', E, [3, 4, 5]);
    const r = l.check();
    expect(r).toMatchObject({
      ok: true,
      acked: 5,
      lost: 0,
      duplicated: 0,
      reordered: 0,
      silentGaps: 0,
      offsetForks: 0,
    });
    expect(r.perSubscriber.s1?.received).toBe(5);
    expect(r.perSubscriber.s2?.received).toBe(3);
    expect(r.details).toEqual([]);
  });

  it('counts lost publications only after the first received position unless expectAll', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 6);
    receive(l, 's1', 'a', E, [3, 4]);
    const r = l.check();
    expect(r.lost).toBe(2);
    expect(r.details.filter((d) => d.startsWith('lost:'))).toEqual([
      'lost: s1 a never got ep1:5 id a/ep1/5',
      'lost: s1 a never got ep1:6 id a/ep1/6',
    ]);
    expect(l.check({ expectAll: true }).lost).toBe(4);
  });

  it('checks a declared subscriber that received nothing only under expectAll', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 3);
    l.subscribed('s1', 'a');
    expect(l.check().lost).toBe(0);
    expect(l.check({ expectAll: true }).perSubscriber.s1?.lost).toBe(3);
  });

  it('counts duplicates by position and by id', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 3);
    receive(l, 's1', 'a', E, [1, 2, 2, 3]);
    l.received('s1', 'a', { offset: 4, epoch: F, id: 'a/ep1/3' });
    const r = l.check();
    expect(r.duplicated).toBe(2);
    expect(r.reordered).toBe(0);
    expect(r.ok).toBe(false);
  });

  it('counts an offset going backwards as reordered', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 4);
    receive(l, 's1', 'a', E, [1, 3, 2, 4]);
    const r = l.check();
    expect(r.reordered).toBe(1);
    expect(r.silentGaps).toBe(1);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
  });

  it('counts an unsignalled jump as a silent gap and its skipped publications as lost', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 5);
    receive(l, 's1', 'a', E, [1, 2, 5]);
    const r = l.check();
    expect(r.silentGaps).toBe(1);
    expect(r.lost).toBe(2);
    expect(r.excused).toBe(0);
    expect(r.details).toContain('silent gap: s1 a jumped from ep1:2 to ep1:5 unsignalled');
  });

  it('excuses a gap after an explicit discontinuity, but not under expectAll', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 5);
    receive(l, 's1', 'a', E, [1, 2]);
    l.discontinuity('s1', 'a', { reason: 'recovered: false' });
    receive(l, 's1', 'a', E, [5]);
    const r = l.check();
    expect(r).toMatchObject({ ok: true, silentGaps: 0, lost: 0, excused: 2 });
    expect(r.perSubscriber.s1?.discontinuities).toBe(1);
    const strict = l.check({ expectAll: true });
    expect(strict.lost).toBe(2);
    expect(strict.silentGaps).toBe(0);
  });

  it('lets a discontinuity excuse only the next jump', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 8);
    receive(l, 's1', 'a', E, [1]);
    l.discontinuity('s1', 'a', { reason: 'reconnect' });
    receive(l, 's1', 'a', E, [3, 4, 6, 7, 8]);
    const r = l.check();
    expect(r.silentGaps).toBe(1);
    expect(r.excused).toBe(1);
    expect(r.lost).toBe(1);
  });

  it('treats an epoch change as an explicit signal', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 4);
    publish(l, 'a', F, 1, 3);
    receive(l, 's1', 'a', E, [1, 2]);
    receive(l, 's1', 'a', F, [2, 3]);
    const r = l.check();
    // E:3 and E:4 are behind the epoch change; F:1 is before s1's first position in F.
    expect(r).toMatchObject({ ok: true, silentGaps: 0, reordered: 0, lost: 0, excused: 2 });
  });

  it('accepts a discontinuity that names the new epoch, then restarts checking there', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 3);
    publish(l, 'a', F, 1, 4);
    receive(l, 's1', 'a', E, [1]);
    l.discontinuity('s1', 'a', { epoch: F, reason: 'unrecoverable position' });
    receive(l, 's1', 'a', F, [3, 4]);
    const r = l.check();
    expect(r).toMatchObject({ ok: true, silentGaps: 0, lost: 0, excused: 2 });
  });

  it('still counts a gap inside the new epoch after an epoch change', () => {
    const l = createLedger();
    publish(l, 'a', F, 1, 5);
    receive(l, 's1', 'a', E, [7]);
    receive(l, 's1', 'a', F, [1, 2, 4, 5]);
    const r = l.check();
    expect(r.silentGaps).toBe(1);
    expect(r.lost).toBe(1);
  });

  it('finds offset forks between publishers and subscribers', () => {
    const l = createLedger();
    l.acked('a', { offset: 1, epoch: E, id: 'x' });
    l.acked('a', { offset: 1, epoch: E, id: 'x' });
    l.acked('a', { offset: 2, epoch: E, id: 'y' });
    l.received('s1', 'a', { offset: 1, epoch: E, id: 'x' });
    l.received('s1', 'a', { offset: 2, epoch: E, id: 'z' });
    l.acked('b', { offset: 1, epoch: E, id: 'p' });
    l.acked('b', { offset: 1, epoch: E, id: 'q' });
    const r = l.check();
    expect(r.offsetForks).toBe(2);
    expect(r.acked).toBe(4);
    expect(r.details).toContain('offset fork: a ep1:2 carries y (publisher), z (s1)');
    expect(r.lost).toBe(1);
  });

  it('keeps channels of one subscriber apart', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 2);
    publish(l, 'b', E, 1, 2);
    receive(l, 's1', 'a', E, [1, 2]);
    receive(l, 's1', 'b', E, [1, 2]);
    expect(l.check().ok).toBe(true);
  });

  it('caps details and formats a readable report', () => {
    const l = createLedger();
    publish(l, 'a', E, 1, 30);
    receive(l, 's1', 'a', E, [1]);
    const r = l.check({ maxDetails: 5 });
    expect(r.lost).toBe(29);
    expect(r.details).toHaveLength(6);
    expect(r.details[5]).toBe('... and 24 more');
    const text = formatLedgerReport(r);
    expect(text).toContain('ledger FAILED: acked 30, lost 29');
    expect(text).toContain('s1: received 1, lost 29');
    expect(text).toContain('  - lost: s1 a never got ep1:2 id a/ep1/2');
    expect(formatLedgerReport(createLedger().check())).toMatch(/^ledger OK: acked 0/);
  });
});
