// Three `tidings serve` processes on a private 3-master Redis Cluster (engine.clusterNodes):
// subscribers on nodes B and C (the centrifuge SDK and a raw WebSocket client) see, in one order,
// what 4 concurrent publishers send through node A's API, on channels owned by each of the three
// shards; and killing the shard's pub/sub connections (CLIENT KILL TYPE pubsub on the master
// owning the channel) is recovered from history. The gap is made certain as in
// cluster-redis.test.ts: the MULTI that kills the connections also publishes with the engine's
// own script (SPUBLISH mode), on the same master.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger, type Ledger } from '@tidings/testkit';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeySpace } from '../../packages/redis/src/keys.js';
import { type PrivateCluster, startPrivateCluster } from '../../packages/redis/src/redis-cluster.test-helpers.js';
import { PUBLISH_SCRIPT } from '../../packages/redis/src/scripts.js';
import { encodePublicationBody } from '../../packages/server/src/broker/body-codec.js';
import {
  allAtTop,
  type ClusterSubscriber,
  expectClean,
  expectRecoveredFromHistory,
  rawSubscriber,
  recordingLedger,
  sdkSubscriber,
  startPublishers,
  topOf,
} from './cluster-clients.js';
import { type Cluster, killAll, nodeConfig, startNodes, until, wsUrl } from './cluster-harness.js';

const prefix = 'tidings-rc:';
const keys = new KeySpace(prefix);
let redis: PrivateCluster;
let nodes: Cluster['nodes'];
let dir = '';
const subscribers: ClusterSubscriber[] = [];

beforeAll(async () => {
  redis = await startPrivateCluster(3);
  dir = mkdtempSync(join(tmpdir(), 'tidings-cluster-redis-cluster-'));
  const engine = {
    type: 'redis',
    clusterNodes: redis.urls,
    prefix,
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  } as const;
  nodes = await startNodes(nodeConfig(dir, engine));
}, 90_000);

afterAll(async () => {
  for (const s of subscribers.splice(0)) s.close();
  await killAll();
  await redis?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Subscribers on B and C, one SDK and one raw client on each. */
async function subscribeOnBAndC(channel: string, ledger: Ledger) {
  const subs = await Promise.all([
    sdkSubscriber(`sdk-b-${channel}`, wsUrl(nodes.b.port), channel, ledger),
    rawSubscriber(`raw-b-${channel}`, wsUrl(nodes.b.port), channel, ledger),
    sdkSubscriber(`sdk-c-${channel}`, wsUrl(nodes.c.port), channel, ledger),
    rawSubscriber(`raw-c-${channel}`, wsUrl(nodes.c.port), channel, ledger),
  ]);
  subscribers.push(...subs);
  return subs;
}

/** One `feed:` channel per shard, in shard order. */
async function channelPerShard(label: string): Promise<string[]> {
  const found = new Map<number, string>();
  for (let i = 0; found.size < 3 && i < 100; i++) {
    const ch = `feed:${label}${i}`;
    const shard = await redis.shardOf(keys.pubsub(ch));
    if (!found.has(shard)) found.set(shard, ch);
  }
  return [0, 1, 2].map((shard) => found.get(shard) ?? '');
}

/**
 * On the master owning `channel`, in one MULTI: kill every pub/sub connection, then store and
 * SPUBLISH `count` publications with the engine's publish script; they are acked in `ledger`.
 */
async function killPubsubAndPublish(channel: string, count: number, ledger: Ledger): Promise<number> {
  const client = createClient({ url: redis.urls[await redis.shardOf(keys.pubsub(channel))] ?? '' });
  await client.connect();
  try {
    const multi = client.multi().addCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    for (let i = 0; i < count; i++) {
      const body = encodePublicationBody({
        data: Buffer.from(JSON.stringify({ id: `gap-${i}` })),
        info: undefined,
        tags: undefined,
      });
      const args = [Buffer.from(body), '20000', '600000', '600000', 'unused', '0', keys.pubsub(channel), '1'];
      const k = [keys.meta(channel), keys.history(channel), keys.idempotency(channel, '')];
      multi.addCommand(['EVAL', PUBLISH_SCRIPT.source, '3', ...k, ...args]);
    }
    const [killed, ...acks] = (await multi.exec()) as unknown as [number, ...Array<[number, number, string]>];
    for (const [i, [, offset, epoch]] of acks.entries()) {
      ledger.acked(channel, { offset, epoch: String(epoch), id: `gap-${i}` });
    }
    return killed;
  } finally {
    client.destroy();
  }
}

describe('three nodes on a Redis Cluster', () => {
  it('B and C subscribers receive what 4 publishers send through A, in one order, on channels of every shard', async () => {
    const channels = await channelPerShard('one');
    expect(new Set(channels).size).toBe(3);
    const rec = recordingLedger(createLedger());
    const subs = new Map<string, ClusterSubscriber[]>();
    for (const ch of channels) subs.set(ch, await subscribeOnBAndC(ch, rec.ledger));
    const runs = await Promise.all(
      channels.map(
        (ch) =>
          startPublishers(() => nodes.a.url, ch, rec.ledger, { publishers: 4, count: 40, pauseMs: 0, tag: ch }).done,
      ),
    );
    for (const run of runs) expect(run).toMatchObject({ acked: 160, unavailable: 0, other: [] });
    for (const ch of channels) {
      const end = await topOf(nodes.a.url, ch);
      expect(end.offset).toBe(160);
      const chSubs = subs.get(ch) ?? [];
      await until(() => chSubs.every((s) => rec.last(s.id)?.offset === end.offset), 10_000, `${ch}: all at the top`);
      const order = rec.ids(chSubs[0]?.id ?? '');
      expect(order).toHaveLength(160);
      for (const s of chSubs) expect(rec.ids(s.id), s.id).toEqual(order);
    }
    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(report.acked).toBe(480);
    for (const list of subs.values()) for (const s of list) s.close();
  });

  it("a shard's killed pub/sub connections are resubscribed and the gap is recovered from history", async () => {
    const [channel = ''] = await channelPerShard('pubsub');
    const rec = recordingLedger(createLedger());
    const subs = await subscribeOnBAndC(channel, rec.ledger);
    const publishers = startPublishers(() => nodes.a.url, channel, rec.ledger, {
      publishers: 4,
      count: 100,
      pauseMs: 5,
      tag: 'pubsub',
    });
    await until(() => publishers.run.acked >= 100, 10_000, '100 acks before the kill');
    // B's and C's sharded pub/sub connections to this shard (nothing else subscribes here).
    expect(await killPubsubAndPublish(channel, 20, rec.ledger)).toBe(2);
    const run = await publishers.done;
    expect(run).toMatchObject({ acked: 400, unavailable: 0, other: [] });
    const end = await topOf(nodes.a.url, channel);
    expect(end.offset).toBe(420);
    await until(() => allAtTop(rec, subs, end), 10_000, 'every subscriber at the top');
    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(report.acked).toBe(420);
    expectRecoveredFromHistory(subs);
  });
});
