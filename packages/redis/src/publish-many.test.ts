import { EventRecorder, fromUtf8, uniqueChannel, utf8, waitFor } from '@tidings/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection, type Reply } from './connection.js';
import { KeySpace } from './keys.js';
import { RedisBroker } from './redis-broker.js';
import { RedisSubscriber } from './subscriber.js';
import { assertRedisReachable, deleteKeys, REDIS_URL, RUN_PREFIX, testPrefix } from './test-redis.test-helpers.js';
import type { RedisCommands } from './transport.js';

const retain = { size: 1000, ttlMs: 60_000, metaTtlMs: 600_000 };
const timing = { connectTimeoutMs: 2000, commandTimeoutMs: 2000, maxReconnectDelayMs: 500, pingIntervalMs: 0 };
const opened: RedisBroker[] = [];

/** A broker whose command connection counts the script calls it runs. */
async function open(prefix: string, scriptsSpanSlots: boolean) {
  const connection = new RedisConnection({ url: REDIS_URL, ...timing }, 'publish-many-test');
  const calls: number[] = [];
  const commands: RedisCommands = {
    get ready() {
      return connection.ready;
    },
    open: (ms) => connection.open(ms),
    command: (args, key) => connection.command(args, key),
    eval: (script, keys, args): Promise<Reply> => {
      calls.push(keys.length);
      return connection.eval(script, keys, args);
    },
    retain() {
      connection.retain();
      return this;
    },
    close: () => connection.close(),
  };
  const subscriber = new RedisSubscriber(new RedisConnection({ url: REDIS_URL, ...timing }, 'publish-many-sub'), false);
  const broker = new RedisBroker({
    commands,
    subscriber,
    keys: new KeySpace(prefix),
    connectTimeoutMs: 2000,
    scriptsSpanSlots,
  });
  opened.push(broker);
  const events = new EventRecorder();
  await broker.start(events);
  return { broker, events, calls };
}

beforeAll(assertRedisReachable);
afterEach(async () => {
  for (const broker of opened.splice(0)) await broker.close();
});
afterAll(() => deleteKeys(RUN_PREFIX));

describe('RedisBroker.publishMany', () => {
  it('stores a batch over several channels in one script call, in item order, with idempotency per item', async () => {
    const { broker, events, calls } = await open(testPrefix(), true);
    const a = uniqueChannel('many-a');
    const b = uniqueChannel('many-b');
    await broker.subscribe([a, b]);
    await broker.publish(a, utf8('before'), { history: retain });
    calls.length = 0;
    const items = Array.from({ length: 40 }, (_, i) => ({
      channel: i % 2 === 0 ? a : b,
      data: utf8(`m${i}`),
      options: { history: retain, ...(i === 6 || i === 8 ? { idempotencyKey: 'same' } : {}) },
    }));
    const outcomes = await broker.publishMany(items);
    expect(calls).toEqual([120]);
    const results = outcomes.map((o) => {
      if (!o.ok) throw o.error;
      return o.result;
    });
    // Channel a: offset 1 was "before"; items 0,2,4,6 get 2..5; item 8 repeats item 6's key.
    expect(results.slice(0, 10).map((r) => r.offset)).toEqual([2, 1, 3, 2, 4, 3, 5, 4, 5, 5]);
    expect(results[8]).toEqual({ ...results[6], suppressed: true });
    const aOffsets = results.filter((_, i) => i % 2 === 0 && i !== 8).map((r) => r.offset);
    expect(aOffsets).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));
    const bOffsets = results.filter((_, i) => i % 2 === 1).map((r) => r.offset);
    expect(bOffsets).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const history = await broker.history(a, { limit: -1 });
    expect(history.publications.map((p) => fromUtf8(p.data))).toEqual([
      'before',
      ...items.filter((_, i) => i % 2 === 0 && i !== 8).map((it) => fromUtf8(it.data)),
    ]);
    await waitFor(() => events.publications.filter((e) => e.channel === b).length === 20);
    expect(events.publications.filter((e) => e.channel === b).map((e) => e.pub.offset)).toEqual(bOffsets);
  });

  it('keeps offsets contiguous when batches and single publishes from other brokers interleave', async () => {
    const prefix = testPrefix();
    const batcher = await open(prefix, true);
    const single = await open(prefix, true);
    const ch = uniqueChannel('many-mixed');
    const batches = Array.from({ length: 5 }, (_, n) =>
      batcher.broker.publishMany(
        Array.from({ length: 30 }, (_, i) => ({ channel: ch, data: utf8(`b${n}-${i}`), options: { history: retain } })),
      ),
    );
    const singles = Array.from({ length: 50 }, (_, i) => single.broker.publish(ch, utf8(`s${i}`), { history: retain }));
    const batchResults = (await Promise.all(batches)).map((outcomes) =>
      outcomes.map((o) => {
        if (!o.ok) throw o.error;
        return o.result.offset;
      }),
    );
    const singleOffsets = (await Promise.all(singles)).map((r) => r.offset);
    for (const offsets of batchResults) {
      // One script call: a batch's offsets are consecutive, nothing interleaves inside it.
      expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => (offsets[0] as number) + i));
    }
    const all = [...batchResults.flat(), ...singleOffsets].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const history = await batcher.broker.history(ch, { limit: -1 });
    expect(history.publications.map((p) => p.offset)).toEqual(all);
  });

  it('groups by channel when scripts may not span slots (Redis Cluster), keeping each channel in order', async () => {
    const { broker, calls } = await open(testPrefix(), false);
    const chans = [uniqueChannel('slot-x'), uniqueChannel('slot-y'), uniqueChannel('slot-z')];
    const outcomes = await broker.publishMany(
      Array.from({ length: 30 }, (_, i) => ({
        channel: chans[i % 3] as string,
        data: utf8(`v${i}`),
        options: { history: retain },
      })),
    );
    expect(calls).toEqual([30, 30, 30]);
    const offsets = outcomes.map((o) => (o.ok ? o.result.offset : -1));
    expect(offsets).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 3) + 1));
  });

  it('fails every item of the batch, unacknowledged, when Redis is not reachable', async () => {
    const { broker } = await open(testPrefix(), true);
    const down = new RedisBroker({
      commands: new RedisConnection({ url: 'redis://127.0.0.1:1', ...timing, connectTimeoutMs: 200 }, 'down'),
      subscriber: new RedisSubscriber(
        new RedisConnection({ url: 'redis://127.0.0.1:1', ...timing }, 'down-sub'),
        false,
      ),
      keys: new KeySpace(testPrefix()),
      connectTimeoutMs: 200,
      scriptsSpanSlots: true,
    });
    opened.push(down);
    const outcomes = await down.publishMany([
      { channel: 'x', data: utf8('1') },
      { channel: 'y', data: utf8('2') },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(outcomes.map((o) => (o.ok ? '' : (o.error as { code?: string }).code))).toEqual([
      'TIDINGS_ERR_UNAVAILABLE',
      'TIDINGS_ERR_UNAVAILABLE',
    ]);
    expect(broker.ready()).toBe(true);
  });
});
