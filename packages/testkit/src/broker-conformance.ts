import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { HistoryRetention } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  comparableInfo,
  type EngineFactory,
  type EngineUnderTest,
  EventRecorder,
  fromUtf8,
  sleep,
  uniqueChannel,
  utf8,
  waitFor,
} from './engine-harness.js';
import { presenceConformance } from './presence-conformance.js';

/** Options of `runBrokerConformance`. */
export interface BrokerConformanceOptions {
  /** Engine name, shown in the suite title. */
  readonly name: string;
  /** Creates a fresh engine per test; the suite starts it and closes it afterwards. */
  readonly create: EngineFactory;
  /** How long to wait for asynchronous deliveries; default 2000 ms. */
  readonly deliveryTimeoutMs?: number;
  /** How long to wait before concluding that nothing more will be delivered; default 50 ms. */
  readonly quietMs?: number;
  /** Real-time TTL for the presence expiry test; default 200 ms (engines with coarse TTLs raise it). */
  readonly presenceTtlMs?: number;
  /** The broker implements `publishMany`: the suite then checks it against `publish`'s contract. */
  readonly publishMany?: boolean;
}

/** A started engine plus the recorder receiving its deliveries. */
export interface OpenEngine extends EngineUnderTest {
  readonly events: EventRecorder;
}

const retain = (size: number): HistoryRetention => ({ size, ttlMs: 60_000, metaTtlMs: 600_000 });

/**
 * Registers a vitest suite that checks any `Broker` + `HistoryStore` + `PresenceStore` against the
 * contracts in `broker/types.ts`: contiguous offsets from 1, one stable epoch, history queries,
 * retention by size, `removeHistory` keeping the top, node-local delivery controlled by
 * `subscribe`, delivery in offset order under concurrent publishes, idempotency suppression,
 * join/leave delivery, presence with expiry, and `TIDINGS_ERR_STATE` after close. Each test uses
 * fresh channel names, so engines backed by a shared server may keep state between tests.
 */
export function runBrokerConformance(options: BrokerConformanceOptions): void {
  const timeoutMs = options.deliveryTimeoutMs ?? 2000;
  const quietMs = options.quietMs ?? 50;
  const opened: EngineUnderTest[] = [];

  const open = async (): Promise<OpenEngine> => {
    const engine = await options.create();
    opened.push(engine);
    const events = new EventRecorder();
    await engine.broker.start(events);
    return { ...engine, events };
  };

  describe(`${options.name}: broker conformance`, () => {
    afterEach(async () => {
      for (const engine of opened.splice(0)) {
        await engine.broker.close();
        await engine.presence.close();
        await engine.cleanup?.();
      }
    });

    it('numbers publications from 1, contiguously, in one stable epoch', async () => {
      const { broker, history } = await open();
      const ch = uniqueChannel('offsets');
      const results = [];
      for (let i = 1; i <= 5; i++) results.push(await broker.publish(ch, utf8(`m${i}`), { history: retain(10) }));
      expect(results.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(results.map((r) => r.epoch)).size).toBe(1);
      const h = await history.history(ch, { limit: -1 });
      expect(h.offset).toBe(5);
      expect(h.epoch).toBe(results[0]?.epoch);
      expect(h.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual(
        results.map((r, i) => [r.offset, `m${i + 1}`]),
      );
      for (const p of h.publications) expect(p.time).toBeGreaterThan(0);
    });

    it('answers a never-published channel with offset 0 and the epoch its first publish uses', async () => {
      const { broker, history } = await open();
      const ch = uniqueChannel('fresh');
      const a = await history.history(ch, { limit: 0 });
      const b = await history.history(ch, { limit: -1 });
      expect(a.offset).toBe(0);
      expect(a.publications).toEqual([]);
      expect(a.epoch.length).toBeGreaterThan(0);
      expect(b.epoch).toBe(a.epoch);
      expect(await broker.publish(ch, utf8('x'), { history: retain(1) })).toMatchObject({ offset: 1, epoch: a.epoch });
    });

    it('answers since, limit and reverse queries', async () => {
      const { broker, history } = await open();
      const ch = uniqueChannel('query');
      for (let i = 1; i <= 6; i++) await broker.publish(ch, utf8(`m${i}`), { history: retain(10) });
      const top = await history.history(ch, { limit: 0 });
      expect(top).toMatchObject({ offset: 6, publications: [] });
      const since = (offset: number) => ({ offset, epoch: top.epoch });
      const q = async (query: Parameters<typeof history.history>[1]) =>
        (await history.history(ch, query)).publications.map((p) => p.offset);
      expect(await q({ limit: 2 })).toEqual([1, 2]);
      expect(await q({ limit: 2, reverse: true })).toEqual([6, 5]);
      expect(await q({ limit: -1, reverse: true })).toEqual([6, 5, 4, 3, 2, 1]);
      expect(await q({ limit: -1, since: since(4) })).toEqual([5, 6]);
      expect(await q({ limit: 1, since: since(2) })).toEqual([3]);
      expect(await q({ limit: -1, since: since(6) })).toEqual([]);
      expect(await q({ limit: 2, since: since(2), reverse: true })).toEqual([6, 5]);
    });

    it('keeps only the newest `size` publications, and none with size 0', async () => {
      const { broker, history } = await open();
      const ch = uniqueChannel('retention');
      for (let i = 1; i <= 7; i++) await broker.publish(ch, utf8(`m${i}`), { history: retain(3) });
      const h = await history.history(ch, { limit: -1 });
      expect(h.publications.map((p) => fromUtf8(p.data))).toEqual(['m5', 'm6', 'm7']);
      const none = uniqueChannel('no-history');
      await broker.publish(none, utf8('a'), { history: { size: 0, ttlMs: 60_000 } });
      const r = await broker.publish(none, utf8('b'));
      expect(r.offset).toBe(2);
      expect(await history.history(none, { limit: -1 })).toMatchObject({ offset: 2, epoch: r.epoch, publications: [] });
    });

    it('a publish that keeps no history advances the offset and leaves the kept history alone', async () => {
      const { broker, history } = await open();
      const ch = uniqueChannel('skip-history');
      for (let i = 1; i <= 3; i++) await broker.publish(ch, utf8(`m${i}`), { history: retain(10) });
      const skipped = await broker.publish(ch, utf8('live only'), { history: { size: 0, ttlMs: 0 } });
      expect(skipped.offset).toBe(4);
      await broker.publish(ch, utf8('m5'), { history: retain(10) });
      const h = await history.history(ch, { limit: -1 });
      expect(h.offset).toBe(5);
      expect(h.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual([
        [1, 'm1'],
        [2, 'm2'],
        [3, 'm3'],
        [5, 'm5'],
      ]);
      const after3 = await history.history(ch, { limit: -1, since: { offset: 3, epoch: h.epoch } });
      expect(after3.publications.map((p) => p.offset)).toEqual([5]);
    });

    it('removeHistory drops publications but keeps the top offset and epoch', async () => {
      const { broker, history } = await open();
      const ch = uniqueChannel('remove');
      await broker.publish(ch, utf8('a'), { history: retain(10) });
      const r = await broker.publish(ch, utf8('b'), { history: retain(10) });
      await history.removeHistory(ch);
      expect(await history.history(ch, { limit: -1 })).toMatchObject({ offset: 2, epoch: r.epoch, publications: [] });
      expect(await broker.publish(ch, utf8('c'), { history: retain(10) })).toMatchObject({ offset: 3, epoch: r.epoch });
    });

    it('carries info and tags through delivery and history', async () => {
      const { broker, history, events } = await open();
      const ch = uniqueChannel('info');
      await broker.subscribe([ch]);
      const info = { user: 'u1', client: 'c1', connInfo: utf8('{"a":1}'), chanInfo: utf8('{"b":2}') };
      await broker.publish(ch, utf8('x'), { history: retain(1), info, tags: { k: 'v' } });
      await waitFor(() => events.of(ch).length === 1, timeoutMs, 'the publication');
      const stored = (await history.history(ch, { limit: 1 })).publications[0];
      for (const pub of [events.of(ch)[0]?.pub, stored]) {
        expect(comparableInfo(pub?.info)).toEqual(comparableInfo(info));
        expect(pub?.tags).toEqual({ k: 'v' });
      }
    });

    it('delivers only channels this node subscribed to', async () => {
      const { broker, events } = await open();
      const [a, b] = [uniqueChannel('sub-a'), uniqueChannel('sub-b')];
      await broker.subscribe([a]);
      await broker.publish(b, utf8('ignored'));
      await broker.publish(a, utf8('one'));
      await waitFor(() => events.of(a).length === 1, timeoutMs, 'delivery on the subscribed channel');
      await broker.unsubscribe([a]);
      await broker.subscribe([b]);
      await broker.publish(a, utf8('after unsubscribe'));
      await broker.publish(b, utf8('two'));
      await waitFor(() => events.of(b).length === 1, timeoutMs, 'delivery after subscribing');
      await sleep(quietMs);
      expect(events.of(a).map((p) => fromUtf8(p.pub.data))).toEqual(['one']);
      expect(events.of(b).map((p) => fromUtf8(p.pub.data))).toEqual(['two']);
    });

    it('delivers in offset order under many concurrent publishes', async () => {
      const { broker, events } = await open();
      const channels = [uniqueChannel('order-a'), uniqueChannel('order-b')];
      await broker.subscribe(channels);
      const perChannel = 100;
      const acks = await Promise.all(
        Array.from({ length: perChannel * 2 }, async (_, i) => {
          const ch = channels[i % 2]!;
          const r = await broker.publish(ch, utf8(`p${i}`), { history: retain(perChannel) });
          return { ch, offset: r.offset, epoch: r.epoch, data: `p${i}` };
        }),
      );
      for (const ch of channels) {
        await waitFor(() => events.of(ch).length >= perChannel, timeoutMs, `${perChannel} deliveries on ${ch}`);
        const got = events.of(ch);
        expect(got.map((p) => p.pub.offset)).toEqual(Array.from({ length: perChannel }, (_, i) => i + 1));
        const acked = new Map(acks.filter((a) => a.ch === ch).map((a) => [a.offset, a]));
        for (const d of got) {
          expect(fromUtf8(d.pub.data)).toBe(acked.get(d.pub.offset)?.data);
          expect(d.epoch).toBe(acked.get(d.pub.offset)?.epoch);
        }
      }
    });

    it('suppresses a repeated idempotency key: same result, nothing stored or delivered', async () => {
      const { broker, history, events } = await open();
      const ch = uniqueChannel('idempotency');
      await broker.subscribe([ch]);
      const opts = { history: retain(10), idempotencyKey: 'key-1', idempotencyWindowMs: 60_000 };
      const first = await broker.publish(ch, utf8('once'), opts);
      const again = await broker.publish(ch, utf8('once'), opts);
      expect(first.suppressed ?? false).toBe(false);
      expect(again).toMatchObject({ offset: first.offset, epoch: first.epoch, suppressed: true });
      const other = await broker.publish(ch, utf8('other'), { ...opts, idempotencyKey: 'key-2' });
      expect(other.offset).toBe(first.offset + 1);
      await waitFor(() => events.of(ch).length >= 2, timeoutMs, 'two deliveries');
      await sleep(quietMs);
      expect(events.of(ch).map((p) => fromUtf8(p.pub.data))).toEqual(['once', 'other']);
      expect((await history.history(ch, { limit: -1 })).publications.map((p) => p.offset)).toEqual([1, 2]);
    });

    it('delivers joins and leaves of subscribed channels', async () => {
      const { broker, events } = await open();
      const ch = uniqueChannel('join-leave');
      await broker.subscribe([ch]);
      const info = { user: 'u1', client: 'c1', chanInfo: utf8('{"x":1}') };
      await broker.publishJoin(ch, info);
      await broker.publishLeave(ch, info);
      await broker.publishJoin(uniqueChannel('not-subscribed'), info);
      await waitFor(() => events.joins.length >= 1 && events.leaves.length >= 1, timeoutMs, 'join and leave');
      await sleep(quietMs);
      expect(events.joins.map((j) => [j.channel, comparableInfo(j.info)])).toEqual([[ch, comparableInfo(info)]]);
      expect(events.leaves.map((j) => [j.channel, comparableInfo(j.info)])).toEqual([[ch, comparableInfo(info)]]);
    });

    it('rejects publish after close with TIDINGS_ERR_STATE', async () => {
      const { broker } = await open();
      await broker.close();
      const err = await broker.publish(uniqueChannel('closed'), utf8('x')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTidingsError(err) ? err.code : err).toBe(TidingsErrorCode.State);
    });

    if (options.publishMany === true) {
      it('publishMany applies items in order as publish would: offsets, idempotency, retention, delivery', async () => {
        const { broker, history, events } = await open();
        const many = broker.publishMany?.bind(broker);
        if (many === undefined) throw new Error(`${options.name}: publishMany is not implemented`);
        const [a, b] = [uniqueChannel('many-a'), uniqueChannel('many-b')];
        await broker.subscribe([a, b]);
        await broker.publish(a, utf8('first'), { history: retain(10) });
        const key = { idempotencyKey: 'k', idempotencyWindowMs: 60_000 };
        const outcomes = await many([
          { channel: a, data: utf8('a2'), options: { history: retain(10), ...key } },
          { channel: b, data: utf8('b1'), options: { history: retain(10), tags: { t: '1' } } },
          { channel: a, data: utf8('a-repeat'), options: { history: retain(10), ...key } },
          { channel: a, data: utf8('a3-unstored'), options: { history: retain(0) } },
          { channel: a, data: utf8('a4'), options: { history: retain(10) } },
          { channel: b, data: utf8('b2'), options: { history: retain(10) } },
        ]);
        const results = outcomes.map((o) => {
          if (!o.ok) throw o.error;
          return o.result;
        });
        expect(results.map((r) => r.offset)).toEqual([2, 1, 2, 3, 4, 2]);
        expect(results[2]).toEqual({ ...results[0], suppressed: true });
        expect(new Set(results.filter((_, i) => i !== 1 && i !== 5).map((r) => r.epoch)).size).toBe(1);
        const ha = await history.history(a, { limit: -1 });
        expect(ha.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual([
          [1, 'first'],
          [2, 'a2'],
          [4, 'a4'],
        ]);
        await waitFor(() => events.of(a).length >= 4 && events.of(b).length >= 2, timeoutMs, 'batch deliveries');
        await sleep(quietMs);
        expect(events.of(a).map((p) => fromUtf8(p.pub.data))).toEqual(['first', 'a2', 'a3-unstored', 'a4']);
        expect(events.of(b).map((p) => [p.pub.offset, p.pub.tags])).toEqual([
          [1, { t: '1' }],
          [2, undefined],
        ]);
        await broker.close();
        const closed = await many([{ channel: a, data: utf8('x') }]).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isTidingsError(closed) ? closed.code : closed).toBe(TidingsErrorCode.State);
      });
    }

    presenceConformance(open, options.presenceTtlMs ?? 200);
  });
}
