import { EventRecorder, fromUtf8, uniqueChannel, utf8, waitFor } from '@tidings/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection, type Reply } from './connection.js';
import { KeySpace } from './keys.js';
import { RedisBroker } from './redis-broker.js';
import { decodePublicationRun } from './replies.js';
import { BATCH_MESSAGE_BYTES } from './scripts.js';
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
    // Meta and history per channel, then the two idempotency keys.
    expect(calls).toEqual([6]);
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

  it('sends each channel of a batch as one pub/sub message of consecutive publications, delivered one by one', async () => {
    const prefix = testPrefix();
    const { broker, events } = await open(prefix, true);
    const [a, b, c] = [uniqueChannel('run-a'), uniqueChannel('run-b'), uniqueChannel('run-c')];
    await broker.subscribe([a, b, c]);
    await broker.subscribePrefixes([a]);
    // What Redis carries, read by a raw subscriber: one message per channel per call.
    const raw = new RedisSubscriber(new RedisConnection({ url: REDIS_URL, ...timing }, 'run-raw'), false);
    const kinds = new Map<string, string[]>();
    await raw.open(2000);
    const keys = new KeySpace(prefix);
    await raw.subscribe(
      [a, b, c].map((ch) => keys.pubsub(ch)),
      (message, name) => {
        const list = kinds.get(name.toString()) ?? [];
        list.push(String.fromCharCode(message[0] ?? 0));
        kinds.set(name.toString(), list);
      },
    );
    try {
      // Bodies with spaces, newlines and every byte value, an info and tags, a repeated key.
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
      const items = [
        ...Array.from({ length: 20 }, (_, i) => ({
          channel: a,
          data: i === 3 ? binary : utf8(`a ${i}\n x`),
          options: {
            history: retain,
            ...(i === 5 ? { info: { client: 'c1', user: 'u1' }, tags: { k: 'v w' } } : {}),
            ...(i === 7 || i === 9 ? { idempotencyKey: 'same' } : {}),
          },
        })),
        { channel: b, data: utf8('only one'), options: { history: retain } },
        ...Array.from({ length: 3 }, (_, i) => ({ channel: c, data: utf8(`c${i}`) })),
      ];
      const outcomes = await broker.publishMany(items);
      expect(outcomes.every((o) => o.ok)).toBe(true);
      await waitFor(() => events.publications.length === 19 + 1 + 3, 2000, '23 deliveries');
      const of = (ch: string) => events.of(ch).map((d) => [d.pub.offset, fromUtf8(d.pub.data)]);
      const aData = items.slice(0, 20).filter((_, i) => i !== 9);
      expect(of(a)).toEqual(aData.map((it, i) => [i + 1, fromUtf8(it.data)]));
      expect(Uint8Array.from(events.of(a)[3]?.pub.data ?? [])).toEqual(binary);
      expect(events.of(a)[5]?.pub).toMatchObject({ info: { client: 'c1', user: 'u1' }, tags: { k: 'v w' } });
      expect(new Set(events.of(a).map((d) => d.pub.time)).size).toBe(1);
      expect(new Set(events.of(a).map((d) => d.epoch))).toEqual(
        new Set([(outcomes[0] as { result: { epoch: string } }).result.epoch]),
      );
      expect(of(b)).toEqual([[1, 'only one']]);
      expect(of(c)).toEqual([
        [1, 'c0'],
        [2, 'c1'],
        [3, 'c2'],
      ]);
      await waitFor(() => events.prefixPublications.length === 19, 2000, 'prefix deliveries');
      expect(events.prefixPublications.map((d) => d.pub.offset)).toEqual(aData.map((_, i) => i + 1));
      await waitFor(() => [...kinds.values()].flat().length === 3, 2000, 'raw messages');
      // A run of one is the single publish's message; longer runs are one `P` message.
      expect([a, b, c].map((ch) => kinds.get(keys.pubsub(ch)))).toEqual([['P'], ['p'], ['P']]);
    } finally {
      raw.close();
    }
  });

  it('cuts the run of a channel after 64 KiB of bodies, keeping every publication in order', async () => {
    const prefix = testPrefix();
    const { broker, events } = await open(prefix, true);
    const ch = uniqueChannel('run-big');
    await broker.subscribe([ch]);
    const raw = new RedisSubscriber(new RedisConnection({ url: REDIS_URL, ...timing }, 'run-big-raw'), false);
    const sizes: number[] = [];
    await raw.open(2000);
    await raw.subscribe([new KeySpace(prefix).pubsub(ch)], (message) => sizes.push(message.length));
    try {
      const body = 10_000;
      const count = 20;
      await broker.publishMany(
        Array.from({ length: count }, (_, i) => ({ channel: ch, data: new Uint8Array(body).fill(i) })),
      );
      await waitFor(() => events.of(ch).length === count, 2000, `${count} deliveries`);
      expect(events.of(ch).map((d) => [d.pub.offset, d.pub.data.length, d.pub.data[0]])).toEqual(
        Array.from({ length: count }, (_, i) => [i + 1, body, i]),
      );
      await waitFor(() => sizes.length >= 3, 2000, 'raw messages');
      // Cut once a run holds 64 KiB: 7 bodies of 10,000 bytes per message here (20 = 7 + 7 + 6).
      const perRun = Math.ceil(BATCH_MESSAGE_BYTES / body);
      expect(sizes).toHaveLength(Math.ceil(count / perRun));
      for (const size of sizes) expect(size).toBeLessThan(BATCH_MESSAGE_BYTES + 2 * body);
    } finally {
      raw.close();
    }
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
    expect(calls).toEqual([2, 2, 2]);
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

describe('decodePublicationRun', () => {
  it('rejects a malformed run before handing on any publication', () => {
    const seen: number[] = [];
    const each = (pub: { offset: number }) => seen.push(pub.offset);
    for (const bad of ['P1 2', 'P1 2 e 5 abc', 'P1 2 e x abc', 'P1 2 e 3 abc-2 zz']) {
      expect(() => decodePublicationRun(Buffer.from(bad, 'latin1'), each)).toThrow(/malformed publication run/);
    }
    expect(seen).toEqual([]);
  });
});
