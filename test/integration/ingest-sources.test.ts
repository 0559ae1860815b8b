// The broker ingest sources against the shared Redis, NATS JetStream and RabbitMQ, each test on
// its own stream / queue: messages land in their channel's history in order and once, are acked
// only after that, unmapped ones are dead-lettered or dropped, and a consumer's unacked messages
// are taken over by another one.
import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import {
  createJetStreamSource,
  createRabbitMqSource,
  createRedisStreamsSource,
  type IngestPublisher,
  type IngestSource,
} from '@tidings/ingest';
import type { TidingsNode } from '@tidings/server';
import { connect as amqpConnect } from 'amqplib';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { historyIds, recordingLogger, repeats, startFeedNode, until } from './ingest-helpers.js';

const tag = `${process.pid}-${Date.now().toString(36)}`;
const cleanups: Array<() => Promise<unknown>> = [];
let node: TidingsNode;
let seq = 0;
const unique = (what: string) => `${what}-${tag}-${++seq}`;
const json = (v: unknown) => JSON.stringify(v);

/** A publisher that fails as an unreachable engine would, until `up` is set. */
function flakyPublisher(inner: IngestPublisher) {
  const state = { up: false, attempts: 0 };
  const publisher: IngestPublisher = {
    publish(channel, data, o) {
      state.attempts++;
      if (!state.up) return Promise.reject(new Error('engine unreachable'));
      return inner.publish(channel, data, o);
    },
  };
  return { state, publisher };
}

function track<T extends IngestSource>(source: T): T {
  cleanups.push(() => source.close());
  return source;
}

beforeAll(async () => {
  node = await startFeedNode();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await node.shutdown();
});

describe('redis streams', () => {
  const redis = createClient({ url: 'redis://127.0.0.1:6379' });
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    redis.destroy();
  });
  const cleanupKeys = (...keys: string[]) =>
    cleanups.push(async () => {
      await redis.del(keys);
    });

  it('publishes each entry once, in order, to the channel its template names, and acks it', async () => {
    const stream = unique('ingest-rs');
    cleanupKeys(stream, `${stream}:dead`);
    const logger = recordingLogger();
    const source = track(
      createRedisStreamsSource({
        url: 'redis://127.0.0.1:6379',
        streams: [stream],
        group: 'tidings',
        consumer: 'n1',
        startId: '0',
        channel: 'feed:{field.device}',
        blockMs: 200,
        publisher: node,
        logger,
      }),
    );
    for (let i = 0; i < 200; i++) await redis.xAdd(stream, '*', { device: `d${i % 2}`, data: json({ id: `r${i}` }) });
    await source.start();
    await until(async () => source.stats.published === 200, 10_000, 'entries published');
    const d0 = await historyIds(node, 'feed:d0');
    expect(d0).toEqual(Array.from({ length: 100 }, (_, i) => `r${i * 2}`));
    expect(await historyIds(node, 'feed:d1')).toHaveLength(100);
    await until(async () => (await redis.xPending(stream, 'tidings')).pending === 0, 5000, 'all acked');
  });

  it('dead-letters unmapped and refused entries to {stream}:dead, or drops them, and acks them', async () => {
    const stream = unique('ingest-rs-dl');
    cleanupKeys(stream, `${stream}:dead`);
    const logger = recordingLogger();
    const source = track(
      createRedisStreamsSource({
        url: 'redis://127.0.0.1:6379',
        streams: [stream],
        group: 'tidings',
        startId: '0',
        channel: 'feed:{field.device}',
        blockMs: 200,
        publisher: node,
        logger,
      }),
    );
    await redis.xAdd(stream, '*', { data: json({ id: 'no-device' }) });
    await redis.xAdd(stream, '*', { device: 'x', payload: 'not in the data field' });
    await redis.xAdd(stream, '*', { device: 'x', data: json({ id: 'ok' }) });
    await source.start();
    await until(async () => source.stats.published === 1 && source.stats.unmapped === 2, 5000, 'all handled');
    const dead = await redis.xRange(`${stream}:dead`, '-', '+');
    expect(dead.map((d) => d.message.error)).toEqual([
      '{field.device} is empty or missing',
      'entry has no "data" field',
    ]);
    expect(dead[0]?.message.data).toBe(json({ id: 'no-device' }));
    expect((await redis.xPending(stream, 'tidings')).pending).toBe(0);
    expect(logger.warnings.some((w) => w.msg === 'ingest: entry dead-lettered')).toBe(true);

    const dropStream = unique('ingest-rs-drop');
    cleanupKeys(dropStream, `${dropStream}:dead`);
    const dropping = track(
      createRedisStreamsSource({
        url: 'redis://127.0.0.1:6379',
        streams: [dropStream],
        group: 'tidings',
        startId: '0',
        channel: 'nowhere:{field.device}',
        onUnmapped: 'drop',
        blockMs: 200,
        publisher: node,
        logger,
      }),
    );
    await redis.xAdd(dropStream, '*', { device: 'x', data: json({ id: 'refused' }) });
    await dropping.start();
    await until(async () => dropping.stats.unmapped === 1, 5000, 'refused entry handled');
    expect(await redis.exists(`${dropStream}:dead`)).toBe(0);
    expect(logger.warnings.some((w) => w.msg === 'ingest: unmapped entry dropped')).toBe(true);
    await until(async () => (await redis.xPending(dropStream, 'tidings')).pending === 0, 5000, 'acked');
  });

  it('a consumer restarted under the same name re-reads its own pending entries at once (a deleted one is acked)', async () => {
    const stream = unique('ingest-rs-own');
    cleanupKeys(stream);
    const down = flakyPublisher(node);
    const options = {
      url: 'redis://127.0.0.1:6379',
      streams: [stream],
      group: 'tidings',
      consumer: 'stable-name',
      startId: '0',
      channel: 'feed:own-{field.k}',
      blockMs: 100,
      retryDelayMs: 50,
      claimIdleMs: 600_000,
      logger: recordingLogger(),
    };
    for (let i = 0; i < 5; i++) await redis.xAdd(stream, '*', { k: stream, data: json({ id: `o${i}` }) });
    const first = createRedisStreamsSource({ ...options, publisher: down.publisher });
    await first.start();
    await until(() => down.state.attempts >= 2, 5000, 'first run tried');
    await first.close();
    expect((await redis.xPending(stream, 'tidings')).pending).toBe(5);
    // An entry deleted while pending comes back without fields: acked, nothing published.
    const [gone] = await redis.xRange(stream, '-', '+', { COUNT: 1 });
    await redis.xDel(stream, gone?.id ?? '');
    const again = track(createRedisStreamsSource({ ...options, publisher: node }));
    await again.start();
    await until(async () => (await historyIds(node, `feed:own-${stream}`)).length === 4, 5000, 'own pending re-read');
    expect(await historyIds(node, `feed:own-${stream}`)).toEqual(['o1', 'o2', 'o3', 'o4']);
    await until(async () => (await redis.xPending(stream, 'tidings')).pending === 0, 5000, 'all acked');
  });

  it('keeps entries pending while the engine is down, and another consumer claims them once idle (XAUTOCLAIM)', async () => {
    const stream = unique('ingest-rs-claim');
    cleanupKeys(stream);
    const down = flakyPublisher(node);
    const first = createRedisStreamsSource({
      url: 'redis://127.0.0.1:6379',
      streams: [stream],
      group: 'tidings',
      consumer: 'dies',
      startId: '0',
      channel: 'feed:claim-{field.k}',
      blockMs: 100,
      retryDelayMs: 50,
      claimIdleMs: 600_000,
      publisher: down.publisher,
      logger: recordingLogger(),
    });
    for (let i = 0; i < 20; i++) await redis.xAdd(stream, '*', { k: 'a', data: json({ id: `c${i}` }) });
    await first.start();
    await until(() => down.state.attempts >= 3, 5000, 'first consumer tried');
    await first.close();
    const pending = await redis.xPending(stream, 'tidings');
    expect(pending.pending).toBeGreaterThan(0);
    expect(pending.consumers?.map((c) => c.name)).toEqual(['dies']);
    const second = track(
      createRedisStreamsSource({
        url: 'redis://127.0.0.1:6379',
        streams: [stream],
        group: 'tidings',
        consumer: 'takes-over',
        channel: 'feed:claim-{field.k}',
        blockMs: 100,
        claimIdleMs: 300,
        publisher: node,
        logger: recordingLogger(),
      }),
    );
    await second.start();
    await until(async () => (await historyIds(node, 'feed:claim-a')).length === 20, 10_000, 'claimed and published');
    const ids = await historyIds(node, 'feed:claim-a');
    expect(repeats(ids)).toEqual([]);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
    await until(async () => (await redis.xPending(stream, 'tidings')).pending === 0, 5000, 'acked by the second');
  });
});

describe('nats jetstream', () => {
  const servers = 'nats://127.0.0.1:4222';
  async function withStream(subjects: string[]) {
    const stream = unique('INGEST').replaceAll('-', '_');
    const nc = await natsConnect({ servers });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects, retention: RetentionPolicy.Limits });
    cleanups.push(async () => {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    });
    return { stream, js: jsm.jetstream(), jsm };
  }

  it('publishes each message once, in order, to {subject.N}, acks it (nothing pending), dead-letters unmapped', async () => {
    const base = unique('ingest.js').replaceAll('-', '_');
    const { stream, js, jsm } = await withStream([`${base}.>`]);
    for (let i = 0; i < 100; i++) await js.publish(`${base}.dev${i % 2}`, json({ id: `n${i}` }));
    // The last token names a namespace that does not exist, so the node refuses the channel.
    await js.publish(`${base}.refused.x`, json({ id: 'refused' }));
    const logger = recordingLogger();
    const source = track(
      createJetStreamSource({
        servers,
        stream,
        durable: 'tidings',
        filterSubject: `${base}.*`,
        channel: 'feed:{subject.2}',
        publisher: node,
        logger,
      }),
    );
    await source.start();
    await until(() => source.stats.published === 100, 10_000, 'messages published');
    expect(await historyIds(node, 'feed:dev0')).toEqual(Array.from({ length: 50 }, (_, i) => `n${i * 2}`));
    await until(
      async () => {
        const info = await jsm.consumers.info(stream, 'tidings');
        return info.num_ack_pending === 0 && info.num_pending === 0;
      },
      5000,
      'all acked',
    );
    const refused = track(
      createJetStreamSource({
        servers,
        stream,
        durable: 'refused',
        filterSubject: `${base}.refused.*`,
        channel: 'nowhere:{subject.3}',
        publisher: node,
        logger,
      }),
    );
    await refused.start();
    await until(() => refused.stats.unmapped === 1, 5000, 'refused message handled');
    // The dead-letter subject `<subject>.dead` is inside the stream's `base.>`, so it is stored.
    const dead = await jsm.streams.getMessage(stream, { last_by_subj: `${base}.refused.x.dead` });
    expect(dead?.json()).toEqual({ id: 'refused' });
  });

  it('terminates an unmapped message whose dead-letter subject no stream captures, and goes on', async () => {
    const base = unique('ingest.jsdl').replaceAll('-', '_');
    const { stream, js, jsm } = await withStream([`${base}.>`]);
    await js.publish(`${base}.a`, json({ id: 'unmapped' }));
    await js.publish(`${base}.a`, json({ id: 'behind', room: 'after-dl' }));
    const logger = recordingLogger();
    const source = track(
      createJetStreamSource({
        servers,
        stream,
        durable: 'tidings',
        channel: 'feed:{data.room}',
        deadLetterSubject: `nowhere-${tag}.dead`,
        publisher: node,
        logger,
      }),
    );
    await source.start();
    await until(() => source.stats.published === 1, 5000, 'the message behind published');
    expect(await historyIds(node, 'feed:after-dl')).toEqual(['behind']);
    expect(logger.warnings.some((w) => w.msg === 'ingest: dead-letter publish failed; message terminated')).toBe(true);
    await until(
      async () => (await jsm.consumers.info(stream, 'tidings')).num_ack_pending === 0,
      5000,
      'nothing pending',
    );
  });

  it('a message left unacked by a consumer that stopped is redelivered after ackWait and published once', async () => {
    const base = unique('ingest.jsr').replaceAll('-', '_');
    const { stream, js, jsm } = await withStream([`${base}.>`]);
    for (let i = 0; i < 10; i++) await js.publish(`${base}.a`, json({ id: `j${i}` }));
    const down = flakyPublisher(node);
    const first = createJetStreamSource({
      servers,
      stream,
      durable: 'shared',
      channel: 'feed:jsr-{subject.1}',
      ackWaitMs: 1000,
      retryDelayMs: 50,
      publisher: down.publisher,
      logger: recordingLogger(),
    });
    await first.start();
    await until(() => down.state.attempts >= 2, 5000, 'first consumer tried');
    await first.close();
    const second = track(
      createJetStreamSource({
        servers,
        stream,
        durable: 'shared',
        channel: 'feed:jsr-{subject.1}',
        ackWaitMs: 1000,
        publisher: node,
        logger: recordingLogger(),
      }),
    );
    await second.start();
    await until(
      async () => (await historyIds(node, `feed:jsr-${base.split('.')[1]}`)).length === 10,
      10_000,
      'published',
    );
    expect(repeats(await historyIds(node, `feed:jsr-${base.split('.')[1]}`))).toEqual([]);
    await until(async () => (await jsm.consumers.info(stream, 'shared')).num_ack_pending === 0, 5000, 'acked');
  });
});

describe('rabbitmq', () => {
  const url = 'amqp://guest:guest@127.0.0.1:5672';
  async function withQueue(args: Record<string, unknown> = {}) {
    const queue = unique('ingest-q');
    const conn = await amqpConnect(url);
    const ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false, arguments: args });
    cleanups.push(async () => {
      await ch.deleteQueue(queue).catch(() => undefined);
      await conn.close();
    });
    return { queue, ch };
  }

  it('publishes each message once, in order, to {routingKey.1}, acks it, and dead-letters unmapped ones through the DLX', async () => {
    const dlq = await withQueue();
    const { queue, ch } = await withQueue({ 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq.queue });
    for (let i = 0; i < 100; i++) {
      ch.publish('', queue, Buffer.from(json({ id: `q${i}`, room: `r${i % 2}` })), { messageId: `m${i}` });
    }
    ch.publish('', queue, Buffer.from(json({ id: 'no-room' })), { messageId: 'bad' });
    const logger = recordingLogger();
    const source = track(
      createRabbitMqSource({ url, queue, channel: 'feed:{data.room}', prefetch: 10, publisher: node, logger }),
    );
    await source.start();
    await until(() => source.stats.published === 100 && source.stats.unmapped === 1, 10_000, 'all handled');
    expect(await historyIds(node, 'feed:r0')).toEqual(Array.from({ length: 50 }, (_, i) => `q${i * 2}`));
    await until(async () => (await dlq.ch.checkQueue(dlq.queue)).messageCount === 1, 5000, 'dead-lettered');
    const dead = await dlq.ch.get(dlq.queue, { noAck: true });
    expect(dead && JSON.parse(dead.content.toString())).toEqual({ id: 'no-room' });
    await source.close();
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  it('unacked messages of a closed consumer are requeued and published once by the next (message-id keys)', async () => {
    const { queue, ch } = await withQueue();
    const down = flakyPublisher(node);
    // The first attempt is stored, then the connection "drops" before the ack: the worst case.
    let stored = 0;
    const storesThenFails: IngestPublisher = {
      async publish(channel, data, o) {
        if (stored < 3) {
          stored++;
          await node.publish(channel, data, o);
        }
        return down.publisher.publish(channel, data, o);
      },
    };
    for (let i = 0; i < 10; i++) ch.publish('', queue, Buffer.from(json({ id: `u${i}` })), { messageId: `u${i}` });
    const first = createRabbitMqSource({
      url,
      queue,
      channel: `feed:${queue}`,
      retryDelayMs: 50,
      publisher: storesThenFails,
      logger: recordingLogger(),
    });
    await first.start();
    await until(() => down.state.attempts >= 3, 5000, 'first consumer tried');
    await first.close();
    const second = track(
      createRabbitMqSource({ url, queue, channel: `feed:${queue}`, publisher: node, logger: recordingLogger() }),
    );
    await second.start();
    await until(async () => (await historyIds(node, `feed:${queue}`)).length >= 10, 10_000, 'published');
    expect(second.stats.suppressed).toBeGreaterThan(0);
    const ids = await historyIds(node, `feed:${queue}`);
    expect(repeats(ids)).toEqual([]);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `u${i}`)));
  });
});
