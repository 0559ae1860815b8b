import { type ClientInfo, isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../internal/clock.js';
import type { BrokerEventHandler, HistoryRetention, StreamPublication } from '../types.js';
import { MemoryBroker } from './memory-broker.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const keep = (size: number, ttlMs = 60_000, metaTtlMs?: number): HistoryRetention =>
  metaTtlMs === undefined ? { size, ttlMs } : { size, ttlMs, metaTtlMs };

class Recorder implements BrokerEventHandler {
  readonly pubs: Array<{ channel: string; pub: StreamPublication; epoch: string }> = [];
  readonly joins: Array<{ channel: string; info: ClientInfo }> = [];
  readonly leaves: Array<{ channel: string; info: ClientInfo }> = [];
  onPublication(channel: string, pub: StreamPublication, epoch: string): void {
    this.pubs.push({ channel, pub, epoch });
  }
  onJoin(channel: string, info: ClientInfo): void {
    this.joins.push({ channel, info });
  }
  onLeave(channel: string, info: ClientInfo): void {
    this.leaves.push({ channel, info });
  }
}

let clock: FakeClock;
let broker: MemoryBroker;

function setup(options: { metaTtlMs?: number } = {}): MemoryBroker {
  clock = new FakeClock();
  broker = new MemoryBroker({ clock, sweepIntervalMs: 1000, ...options });
  return broker;
}

afterEach(async () => {
  await broker.close();
});

describe('MemoryBroker history', () => {
  it('numbers publications from 1 and keeps the newest `size`', async () => {
    setup();
    for (let i = 1; i <= 5; i++) {
      const r = await broker.publish('ch', bytes(`m${i}`), { history: keep(3) });
      expect(r.offset).toBe(i);
    }
    const h = await broker.history('ch', { limit: -1 });
    expect(h.offset).toBe(5);
    expect(h.publications.map((p) => p.offset)).toEqual([3, 4, 5]);
    expect(h.publications.map((p) => text(p.data))).toEqual(['m3', 'm4', 'm5']);
    expect(h.publications[0]?.time).toBe(clock.now());
  });

  it('drops each publication ttlMs after it was published', async () => {
    setup();
    await broker.publish('ch', bytes('a'), { history: keep(10, 1000) });
    clock.advance(600);
    await broker.publish('ch', bytes('b'), { history: keep(10, 1000) });
    clock.advance(400);
    expect((await broker.history('ch', { limit: -1 })).publications.map((p) => p.offset)).toEqual([2]);
    clock.advance(600);
    const h = await broker.history('ch', { limit: -1 });
    expect(h.publications).toEqual([]);
    expect(h.offset).toBe(2);
  });

  it('never lets an older publication outlive a newer one, so retention stays contiguous', async () => {
    setup();
    await broker.publish('ch', bytes('long'), { history: keep(10, 10_000) });
    await broker.publish('ch', bytes('short'), { history: keep(10, 100) });
    await broker.publish('ch', bytes('long2'), { history: keep(10, 10_000) });
    clock.advance(100);
    expect((await broker.history('ch', { limit: -1 })).publications.map((p) => p.offset)).toEqual([3]);
  });

  it('advances offsets without storing when size is 0 or history is absent, keeping what was kept', async () => {
    setup();
    await broker.publish('ch', bytes('a'), { history: keep(5) });
    await broker.publish('ch', bytes('b'), { history: keep(0) });
    const r = await broker.publish('ch', bytes('c'));
    expect(r.offset).toBe(3);
    const h = await broker.history('ch', { limit: -1 });
    expect(h).toMatchObject({ offset: 3, epoch: r.epoch });
    expect(h.publications.map((p) => p.offset)).toEqual([1]);
  });

  it('answers since / limit / reverse queries', async () => {
    setup();
    for (let i = 1; i <= 6; i++) await broker.publish('ch', bytes(`m${i}`), { history: keep(10) });
    const offsets = async (q: Parameters<MemoryBroker['history']>[1]) =>
      (await broker.history('ch', q)).publications.map((p) => p.offset);
    const { epoch } = await broker.history('ch', { limit: 0 });
    expect(await offsets({ limit: 0 })).toEqual([]);
    expect(await offsets({ limit: 2 })).toEqual([1, 2]);
    expect(await offsets({ limit: 2, reverse: true })).toEqual([6, 5]);
    expect(await offsets({ limit: -1, reverse: true })).toEqual([6, 5, 4, 3, 2, 1]);
    expect(await offsets({ limit: -1, since: { offset: 4, epoch } })).toEqual([5, 6]);
    expect(await offsets({ limit: 1, since: { offset: 2, epoch } })).toEqual([3]);
    expect(await offsets({ limit: 2, since: { offset: 2, epoch }, reverse: true })).toEqual([6, 5]);
    expect(await offsets({ limit: -1, since: { offset: 6, epoch } })).toEqual([]);
    expect(await offsets({ limit: -1, since: { offset: 99, epoch } })).toEqual([]);
  });

  it('gives a never-published channel offset 0 and the epoch its first publish then uses', async () => {
    setup();
    const a = await broker.history('fresh', { limit: 0 });
    const b = await broker.history('fresh', { limit: -1 });
    expect(a).toMatchObject({ offset: 0, publications: [] });
    expect(a.epoch).toMatch(/^[A-Za-z0-9_-]{4,}$/);
    expect(b.epoch).toBe(a.epoch);
    const r = await broker.publish('fresh', bytes('x'), { history: keep(1) });
    expect(r).toEqual({ offset: 1, epoch: a.epoch });
  });

  it('keeps the epoch while meta lives and starts a new epoch once it expired', async () => {
    setup();
    const r1 = await broker.publish('ch', bytes('a'), { history: keep(10, 500, 1000) });
    clock.advance(900);
    const r2 = await broker.publish('ch', bytes('b'), { history: keep(10, 500, 1000) });
    expect(r2).toEqual({ offset: 2, epoch: r1.epoch });
    clock.advance(1000);
    const h = await broker.history('ch', { limit: -1 });
    expect(h.offset).toBe(0);
    expect(h.epoch).not.toBe(r1.epoch);
    const r3 = await broker.publish('ch', bytes('c'), { history: keep(10, 500, 1000) });
    expect(r3).toEqual({ offset: 1, epoch: h.epoch });
  });

  it('uses the engine default meta TTL when a publish gives none', async () => {
    setup({ metaTtlMs: 5000 });
    const r1 = await broker.publish('ch', bytes('a'));
    clock.advance(5000);
    const r2 = await broker.publish('ch', bytes('b'));
    expect(r2.offset).toBe(1);
    expect(r2.epoch).not.toBe(r1.epoch);
  });

  it('removeHistory drops publications but keeps the top offset and epoch', async () => {
    setup();
    await broker.publish('ch', bytes('a'), { history: keep(10) });
    const r = await broker.publish('ch', bytes('b'), { history: keep(10) });
    await broker.removeHistory('ch');
    expect(await broker.history('ch', { limit: -1 })).toEqual({ offset: 2, epoch: r.epoch, publications: [] });
    expect(await broker.publish('ch', bytes('c'), { history: keep(10) })).toEqual({ offset: 3, epoch: r.epoch });
  });

  it('forgets streams once their meta expired, so memory does not grow with dead channels', async () => {
    setup({ metaTtlMs: 2000 });
    for (let i = 0; i < 50; i++) await broker.publish(`ch${i}`, bytes('x'), { history: keep(5, 1000) });
    expect(broker.streamCount).toBe(50);
    clock.advance(2000);
    clock.advance(1000);
    expect(broker.streamCount).toBe(0);
  });
});

describe('MemoryBroker delivery', () => {
  it('delivers only subscribed channels, in offset order, before publish resolves', async () => {
    setup();
    const rec = new Recorder();
    await broker.start(rec);
    await broker.subscribe(['a']);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => broker.publish(i % 2 === 0 ? 'a' : 'b', bytes(`m${i}`))),
    );
    expect(rec.pubs.every((p) => p.channel === 'a')).toBe(true);
    expect(rec.pubs.map((p) => p.pub.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(rec.pubs[0]?.epoch).toBe(results[0]?.epoch);
    await broker.unsubscribe(['a']);
    await broker.publish('a', bytes('late'));
    expect(rec.pubs).toHaveLength(10);
  });

  it('passes info and tags through', async () => {
    setup();
    const rec = new Recorder();
    await broker.start(rec);
    await broker.subscribe(['a']);
    const info: ClientInfo = { user: 'u1', client: 'c1' };
    await broker.publish('a', bytes('x'), { info, tags: { k: 'v' }, history: keep(1) });
    expect(rec.pubs[0]?.pub).toMatchObject({ info, tags: { k: 'v' }, offset: 1 });
    expect((await broker.history('a', { limit: 1 })).publications[0]).toMatchObject({ info, tags: { k: 'v' } });
  });

  it('delivers joins and leaves of subscribed channels', async () => {
    setup();
    const rec = new Recorder();
    await broker.start(rec);
    await broker.subscribe(['a']);
    const info: ClientInfo = { user: 'u', client: 'c' };
    await broker.publishJoin('a', info);
    await broker.publishLeave('a', info);
    await broker.publishJoin('b', info);
    expect(rec.joins).toEqual([{ channel: 'a', info }]);
    expect(rec.leaves).toEqual([{ channel: 'a', info }]);
  });

  it('suppresses a repeated idempotency key inside the window, and only there', async () => {
    setup();
    const rec = new Recorder();
    await broker.start(rec);
    await broker.subscribe(['a']);
    const opts = { idempotencyKey: 'k1', idempotencyWindowMs: 1000, history: keep(10) };
    const first = await broker.publish('a', bytes('x'), opts);
    clock.advance(999);
    const again = await broker.publish('a', bytes('x'), opts);
    expect(again).toEqual({ ...first, suppressed: true });
    expect(rec.pubs).toHaveLength(1);
    expect((await broker.history('a', { limit: -1 })).publications).toHaveLength(1);
    const otherChannel = await broker.publish('b', bytes('x'), opts);
    expect(otherChannel.suppressed).toBeUndefined();
    clock.advance(1);
    const later = await broker.publish('a', bytes('x'), opts);
    expect(later.suppressed).toBeUndefined();
    expect(later.offset).toBe(2);
  });

  it('expires idempotency keys in the background', async () => {
    setup();
    for (let i = 0; i < 100; i++)
      await broker.publish('a', bytes('x'), { idempotencyKey: `k${i}`, idempotencyWindowMs: 500 });
    expect(broker.idempotencyKeyCount).toBe(100);
    clock.advance(1000);
    expect(broker.idempotencyKeyCount).toBe(0);
  });

  it('rejects with TIDINGS_ERR_STATE after close', async () => {
    setup();
    await broker.close();
    const err = await broker.publish('a', bytes('x')).catch((e: unknown) => e);
    expect(isTidingsError(err) && err.code === TidingsErrorCode.State).toBe(true);
    await expect(broker.publishJoin('a', { user: 'u', client: 'c' })).rejects.toThrow(/closed/);
    await expect(broker.history('a', { limit: 0 })).rejects.toThrow(/closed/);
    await expect(broker.unsubscribe(['a'])).resolves.toBeUndefined();
  });

  it('refuses a second start', async () => {
    setup();
    await broker.start(new Recorder());
    await expect(broker.start(new Recorder())).rejects.toThrow(/already started/);
  });
});
