// The kill -9 test of each ingest source (ingest-kill-*.test.ts): kill -9 of a Tidings node in the middle of consuming each broker: two `tidings serve` nodes on
// one engine consume the same Redis stream group / JetStream durable / RabbitMQ queue; node A is
// killed while messages flow, node B takes over A's unacked messages (XAUTOCLAIM after
// claimIdleMs, JetStream redelivery after ackWait, RabbitMQ requeue on connection loss), and an
// SDK subscriber on B sees every message exactly once, in offset order (ledger checker).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';
import { createClient } from 'redis';
import { afterAll, expect, it } from 'vitest';
import { sdkSubscriber, topOf } from './cluster-clients.js';
import { killAll, requireBuild, sleep, spawnNode, until, wsUrl } from './cluster-harness.js';
import { createLedger, expectEachOnce, ingestNodeConfig } from './ingest-cluster.js';

const tag = `${process.pid}${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'tidings-ingest-kill-'));
const total = 2000;

/** One broker: prepares its stream/queue, produces message `i`, and names its source config. */
export interface Driver {
  readonly name: string;
  setup(): Promise<void>;
  source(): object;
  produce(i: number, body: string): Promise<void>;
  /** Evidence, read right after the kill, that the killed node (pid) held unacked messages; undefined = not observable. */
  heldByKilled?(pid: number): Promise<boolean>;
  teardown(): Promise<void>;
}

export const redisDriver = (): Driver => {
  const stream = `ingest-kill-${tag}`;
  const redis = createClient({ url: 'redis://127.0.0.1:6379' });
  return {
    name: 'redis streams',
    setup: async () => {
      await redis.connect();
    },
    source: () => ({
      type: 'redis-streams',
      streams: [stream],
      group: 'tidings',
      startId: '0',
      channel: 'feed:{field.ch}',
      blockMs: 200,
      claimIdleMs: 1000,
    }),
    produce: async (_i, body) => {
      await redis.xAdd(stream, '*', { ch: 'kill-redis', data: body });
    },
    heldByKilled: async (pid) => {
      const pending = await redis.xPending(stream, 'tidings');
      return (pending.consumers ?? []).some((c) => c.name.endsWith(`-${pid}`) && Number(c.deliveriesCounter) > 0);
    },
    teardown: async () => {
      await redis.del(stream);
      redis.destroy();
    },
  };
};

export const natsDriver = (): Driver => {
  const stream = `INGEST_KILL_${tag}`;
  const subject = `ingestkill${tag}`;
  let close = async () => undefined as unknown;
  let publish: (s: string, b: string) => Promise<unknown> = async () => undefined;
  let redelivered = async () => false;
  return {
    name: 'nats jetstream',
    setup: async () => {
      const nc = await natsConnect({ servers: 'nats://127.0.0.1:4222' });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], retention: RetentionPolicy.Limits });
      const js = jsm.jetstream();
      publish = (s, b) => js.publish(s, b);
      redelivered = async () => (await jsm.consumers.info(stream, 'tidings')).num_redelivered > 0;
      close = async () => {
        await jsm.streams.delete(stream).catch(() => undefined);
        await nc.close();
      };
    },
    source: () => ({
      type: 'nats-jetstream',
      servers: 'nats://127.0.0.1:4222',
      stream,
      durable: 'tidings',
      channel: 'feed:{subject.1}',
      ackWaitMs: 1000,
      maxMessages: 50,
    }),
    produce: async (_i, body) => {
      await publish(`${subject}.kill-nats`, body);
    },
    // Read at the end: the redeliveries are the killed node's unacked messages.
    heldByKilled: () => redelivered(),
    teardown: () => close(),
  };
};

export const rabbitDriver = (): Driver => {
  const queue = `ingest-kill-${tag}`;
  let ch: Awaited<ReturnType<Awaited<ReturnType<typeof amqpConnect>>['createConfirmChannel']>> | undefined;
  let close = async () => undefined as unknown;
  return {
    name: 'rabbitmq',
    setup: async () => {
      const conn = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
      ch = await conn.createConfirmChannel();
      await ch.assertQueue(queue, { durable: false });
      close = async () => {
        await ch?.deleteQueue(queue).catch(() => undefined);
        await conn.close();
      };
    },
    source: () => ({
      type: 'rabbitmq',
      url: 'amqp://guest:guest@127.0.0.1:5672',
      queue,
      channel: 'feed:kill-rabbit',
      prefetch: 20,
    }),
    produce: (i, body) =>
      new Promise<void>((resolve, reject) =>
        ch?.sendToQueue(queue, Buffer.from(body), { messageId: `m${i}` }, (err) => (err ? reject(err) : resolve())),
      ),
    teardown: () => close(),
  };
};

/** Registers the kill -9 test for one broker (one test file each, to stay under a minute). */
export function describeKillTest(makeDriver: () => Driver, channel: string): void {
  afterAll(async () => {
    await killAll();
  });
  it(`publishes each of ${total} messages exactly once to a subscriber on the surviving node`, async () => {
    requireBuild();
    const driver = makeDriver();
    await driver.setup();
    try {
      const config = ingestNodeConfig(dir, `tidings-ingest-kill:${tag}:${channel}:`, {
        ingest: { sources: [driver.source()], retryDelayMs: 100 },
      });
      const [a, b] = await Promise.all([spawnNode('A', config), spawnNode('B', config)]);
      if (a === undefined || b === undefined) throw new Error('nodes did not start');
      const ledger = createLedger();
      const sub = await sdkSubscriber('sub-b', wsUrl(b.port), channel, ledger);
      const expected = new Set<string>();
      for (let i = 0; i < total; i++) {
        const id = `${channel}-${i}`;
        await driver.produce(i, JSON.stringify({ id }));
        expected.add(id);
        if (i === Math.floor(total / 3)) {
          // Let both nodes take messages, then kill A while it holds some unacked.
          await until(async () => (await topOf(b.url, channel)).offset > total / 6, 15_000, 'both consuming');
          await a.kill();
        }
        if (i % 100 === 0) await sleep(5);
      }
      await until(
        async () => (await topOf(b.url, channel)).offset >= expected.size,
        30_000,
        `all ${total} messages published`,
      );
      // Give a late duplicate (a takeover racing an ack) time to show up before judging.
      await sleep(1500);
      await expectEachOnce(b.url, channel, expected, ledger);
      expect(sub.subscribes).toHaveLength(1);
      sub.close();
      await b.kill();
    } finally {
      await driver.teardown();
    }
  }, 90_000);
}
