import { headers } from '@nats-io/transport-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RepublishOrderer, republishPosition } from './republish-order.js';

/** An orderer whose output is recorded as `key:seq`. */
const recorder = (waitMs = 250) => {
  const out: string[] = [];
  const orderer = new RepublishOrderer<number>((key, seq) => out.push(`${key}:${seq}`), waitMs);
  const push = (key: string, seq: number, previous: number) => orderer.push(key, { seq, previous }, seq);
  return { out, orderer, push };
};

afterEach(() => {
  vi.useRealTimers();
});

describe('RepublishOrderer', () => {
  it('hands on in-order messages at once', () => {
    const { out, push } = recorder();
    push('a', 10, 4);
    push('a', 11, 10);
    push('a', 15, 11);
    expect(out).toEqual(['a:10', 'a:11', 'a:15']);
  });

  it('holds a message until its predecessor arrives, then hands both on in stream order', () => {
    const { out, orderer, push } = recorder();
    push('a', 10, 0);
    push('a', 13, 12);
    push('a', 12, 11);
    expect(out).toEqual(['a:10']);
    expect(orderer.waiting).toBe(2);
    push('a', 11, 10);
    expect(out).toEqual(['a:10', 'a:11', 'a:12', 'a:13']);
    expect(orderer.waiting).toBe(0);
  });

  it('keeps subjects independent: a gap on one holds nothing of another', () => {
    const { out, push } = recorder();
    push('a', 1, 0);
    push('b', 2, 0);
    push('a', 5, 3);
    push('b', 4, 2);
    expect(out).toEqual(['a:1', 'b:2', 'b:4']);
  });

  it('gives up on a lost predecessor after the wait and hands the rest on in sequence order', () => {
    vi.useFakeTimers();
    const { out, orderer, push } = recorder(250);
    push('a', 10, 0);
    push('a', 14, 13);
    push('a', 12, 11);
    vi.advanceTimersByTime(249);
    expect(out).toEqual(['a:10']);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(['a:10', 'a:12', 'a:14']);
    expect(orderer.waiting).toBe(0);
    // The chain goes on from the newest message handed on.
    push('a', 15, 14);
    expect(out.at(-1)).toBe('a:15');
  });

  it('hands on a straggler older than the last one handed on (the hub skips what a subscriber has)', () => {
    vi.useFakeTimers();
    const { out, push } = recorder(100);
    push('a', 10, 0);
    push('a', 12, 11);
    vi.advanceTimersByTime(100);
    push('a', 11, 10);
    expect(out).toEqual(['a:10', 'a:12', 'a:11']);
  });

  it('flushAll hands on what waits and starts every subject afresh; forget drops it', () => {
    const { out, orderer, push } = recorder();
    push('a', 1, 0);
    push('a', 3, 2);
    push('b', 1, 0);
    push('b', 3, 2);
    orderer.forget('b');
    orderer.flushAll();
    expect(out).toEqual(['a:1', 'b:1', 'a:3']);
    // After the flush any first message is accepted as the start.
    push('a', 9, 7);
    expect(out.at(-1)).toBe('a:9');
    expect(orderer.waiting).toBe(0);
  });

  it('passes messages without positions straight through', () => {
    const out: unknown[] = [];
    const orderer = new RepublishOrderer<string>((_, item) => out.push(item));
    orderer.push('a', undefined, 'x');
    expect(out).toEqual(['x']);
  });
});

describe('republishPosition', () => {
  it('reads Nats-Sequence and Nats-Last-Sequence, and rejects what is missing or malformed', () => {
    const h = headers();
    h.set('Nats-Sequence', '42');
    h.set('Nats-Last-Sequence', '17');
    expect(republishPosition(h)).toEqual({ seq: 42, previous: 17 });
    const bad = headers();
    bad.set('Nats-Sequence', 'x');
    bad.set('Nats-Last-Sequence', '1');
    expect(republishPosition(bad)).toBeUndefined();
    expect(republishPosition(undefined)).toBeUndefined();
  });
});
