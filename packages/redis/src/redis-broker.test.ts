import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { EventRecorder, fromUtf8, uniqueChannel, utf8, waitFor } from '@tidings/testkit';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from './redis-engine.js';
import {
  assertRedisReachable,
  deleteKeys,
  REDIS_URL,
  RUN_PREFIX,
  testEngine,
  testPrefix,
} from './test-redis.test-helpers.js';

const retain = { size: 1000, ttlMs: 60_000, metaTtlMs: 600_000 };
const opened: RedisEngine[] = [];
const open = async (prefix: string) => {
  const engine = testEngine({ prefix });
  opened.push(engine);
  const events = new EventRecorder();
  await engine.broker.start(events);
  return { ...engine, events };
};

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

beforeAll(assertRedisReachable);
afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
});
afterAll(() => deleteKeys(RUN_PREFIX));

describe('RedisBroker against the real Redis', () => {
  it('assigns contiguous offsets atomically under concurrent publishers on separate connections', async () => {
    const prefix = testPrefix();
    const publishers = await Promise.all([1, 2, 3, 4].map(() => open(prefix)));
    const watcher = await open(prefix);
    const ch = uniqueChannel('atomic');
    await watcher.broker.subscribe([ch]);
    const perPublisher = 150;
    const acks = (
      await Promise.all(
        publishers.map((p, n) =>
          Promise.all(
            Array.from({ length: perPublisher }, async (_, i) => {
              const data = `n${n}-${i}`;
              const r = await p.broker.publish(ch, utf8(data), { history: retain });
              return { ...r, data };
            }),
          ),
        ),
      )
    ).flat();
    const total = publishers.length * perPublisher;
    const offsets = acks.map((a) => a.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(acks.map((a) => a.epoch)).size).toBe(1);
    const byOffset = new Map(acks.map((a) => [a.offset, a.data]));
    const h = await watcher.history.history(ch, { limit: -1 });
    expect(h.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual(offsets.map((o) => [o, byOffset.get(o)]));
    await waitFor(() => watcher.events.of(ch).length >= total, 5000, `${total} deliveries`);
    expect(watcher.events.of(ch).map((d) => [d.pub.offset, fromUtf8(d.pub.data)])).toEqual(
      offsets.map((o) => [o, byOffset.get(o)]),
    );
  });

  it('suppresses an idempotency key repeated through another node', async () => {
    const prefix = testPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const ch = uniqueChannel('idem-nodes');
    const opts = { history: retain, idempotencyKey: 'k', idempotencyWindowMs: 60_000 };
    const first = await a.broker.publish(ch, utf8('x'), opts);
    expect(await b.broker.publish(ch, utf8('x'), opts)).toEqual({ ...first, suppressed: true });
    expect((await b.history.history(ch, { limit: 0 })).offset).toBe(1);
  });

  it('starts a new epoch at offset 1 when the stream meta is lost (e.g. Redis restarted without persistence)', async () => {
    const engine = await open(testPrefix());
    const ch = uniqueChannel('epoch');
    await engine.broker.publish(ch, utf8('a'), { history: retain });
    const before = await engine.broker.publish(ch, utf8('b'), { history: retain });
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      await raw.del(`${engine.prefix}{${ch}}:m`);
    } finally {
      raw.destroy();
    }
    const after = await engine.broker.publish(ch, utf8('c'), { history: retain });
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    const h = await engine.history.history(ch, { limit: -1 });
    expect(h).toMatchObject({ offset: 1, epoch: after.epoch });
    expect(h.publications.map((p) => fromUtf8(p.data))).toEqual(['c']);
  });

  it('resubscribes after its pub/sub connection is killed and reports a discontinuity (prefixes too); delivery resumes', async () => {
    const prefix = testPrefix();
    const clientName = `tidings-test-${prefix.replace(/[^a-z0-9]/gi, '')}`;
    const engine = testEngine({ prefix, clientName });
    opened.push(engine);
    const gaps: string[][] = [];
    const events = new EventRecorder();
    await engine.broker.start({
      onPublication: (c, p, e) => events.onPublication(c, p, e),
      onJoin: (c, i) => events.onJoin(c, i),
      onLeave: (c, i) => events.onLeave(c, i),
      onDiscontinuity: (chs) => gaps.push([...chs]),
      onPrefixPublication: (c, p, e) => events.onPrefixPublication(c, p, e),
      onPrefixDiscontinuity: () => prefixGaps++,
    });
    let prefixGaps = 0;
    const ch = uniqueChannel('resubscribe');
    await engine.broker.subscribe([ch]);
    await engine.broker.subscribePrefixes([ch]);
    await engine.broker.publish(ch, utf8('before'));
    await waitFor(() => events.of(ch).length === 1, 2000, 'the first delivery');
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      // Only this engine's own subscriber connection, found by its unique name.
      const list = await raw.clientList();
      const mine = list.filter((c) => c.name === `${clientName}-pubsub`);
      expect(mine).toHaveLength(1);
      await raw.sendCommand(['CLIENT', 'KILL', 'ID', String(mine[0]?.id)]);
    } finally {
      raw.destroy();
    }
    await waitFor(() => gaps.length === 1, 3000, 'the discontinuity signal');
    expect(gaps).toEqual([[ch]]);
    expect(prefixGaps).toBe(1);
    await engine.broker.publish(ch, utf8('after'));
    await waitFor(() => events.of(ch).length === 2, 2000, 'delivery after resubscribing');
    await waitFor(() => events.prefixPublications.length === 2, 2000, 'prefix delivery after resubscribing');
    expect(events.of(ch).map((d) => [d.pub.offset, fromUtf8(d.pub.data)])).toEqual([
      [1, 'before'],
      [2, 'after'],
    ]);
  });

  it('a publish with history size 0 (skip_history) takes an offset and leaves the kept history untouched', async () => {
    const engine = await open(testPrefix());
    const ch = uniqueChannel('skip-history');
    const longRetain = { size: 10, ttlMs: 120_000, metaTtlMs: 1000 };
    await engine.broker.publish(ch, utf8('a'), { history: longRetain });
    await engine.broker.publish(ch, utf8('b'), { history: longRetain });
    const skipped = await engine.broker.publish(ch, utf8('skipped'), {
      history: { size: 0, ttlMs: 0, metaTtlMs: 1000 },
    });
    const after = await engine.broker.publish(ch, utf8('d'), { history: longRetain });
    expect([skipped.offset, after.offset]).toEqual([3, 4]);
    expect(after.epoch).toBe(skipped.epoch);
    const all = await engine.history.history(ch, { limit: -1 });
    expect(all.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [4, 'd'],
    ]);
    const since2 = await engine.history.history(ch, { limit: -1, since: { offset: 2, epoch: after.epoch } });
    expect(since2.publications.map((p) => p.offset)).toEqual([4]);
    // A skipped publish as the newest one keeps the history and does not shorten the meta's
    // life below it (the meta must outlive the history it describes).
    await engine.broker.publish(ch, utf8('skipped too'), { history: { size: 0, ttlMs: 0, metaTtlMs: 1000 } });
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      const metaTtl = await raw.pTTL(`${engine.prefix}{${ch}}:m`);
      const historyTtl = await raw.pTTL(`${engine.prefix}{${ch}}:h`);
      expect(historyTtl).toBeGreaterThan(100_000);
      expect(metaTtl).toBeGreaterThanOrEqual(historyTtl - 1000);
    } finally {
      raw.destroy();
    }
    expect(await engine.history.history(ch, { limit: -1 })).toMatchObject({ offset: 5, epoch: after.epoch });
    expect((await engine.history.history(ch, { limit: -1 })).publications.map((p) => p.offset)).toEqual([1, 2, 4]);
  });

  it('history ttl drops the whole history after the last publish; the top and epoch stay', async () => {
    const engine = await open(testPrefix());
    const ch = uniqueChannel('ttl');
    const r = await engine.broker.publish(ch, utf8('a'), { history: { size: 10, ttlMs: 100, metaTtlMs: 60_000 } });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await engine.history.history(ch, { limit: -1 })).toMatchObject({ ...r, publications: [] });
  });
});

describe('RedisBroker when Redis is unreachable', () => {
  const down = () => createRedisEngine({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 300, maxReconnectDelayMs: 100 });

  it('start rejects with TIDINGS_ERR_UNAVAILABLE, then publishes reject at once', async () => {
    const engine = down();
    opened.push(engine);
    const started = Date.now();
    const startErr = await rejection(engine.broker.start(new EventRecorder()));
    expect(isTidingsError(startErr) ? startErr.code : startErr).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - started).toBeLessThan(2000);
    const t0 = Date.now();
    const err = await rejection(engine.broker.publish('ch', utf8('x'), { history: retain }));
    expect(isTidingsError(err) ? err.code : err).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(100);
    expect(engine.broker.ready()).toBe(false);
  });

  it('a publish on a never-started engine rejects with TIDINGS_ERR_UNAVAILABLE within the connect timeout', async () => {
    const engine = down();
    opened.push(engine);
    const t0 = Date.now();
    const errors = await Promise.all([
      rejection(engine.broker.publish('ch', utf8('x'))),
      rejection(engine.broker.history('ch', { limit: -1 })),
      rejection(engine.presence.get('ch')),
    ]);
    for (const err of errors) expect(isTidingsError(err) ? err.code : err).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('subscribe rejects with TIDINGS_ERR_UNAVAILABLE within the command timeout', async () => {
    const engine = createRedisEngine({
      url: 'redis://127.0.0.1:1',
      connectTimeoutMs: 200,
      commandTimeoutMs: 200,
      maxReconnectDelayMs: 100,
    });
    opened.push(engine);
    await rejection(engine.broker.start(new EventRecorder()));
    const t0 = Date.now();
    const err = await rejection(engine.broker.subscribe(['ch']));
    expect(isTidingsError(err) ? err.code : err).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(1000);
    await engine.broker.unsubscribe(['ch']);
  });
});
