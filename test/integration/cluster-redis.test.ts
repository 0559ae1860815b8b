// Three `tidings serve` processes on one private Redis: subscribers on nodes B and C (the
// centrifuge SDK and a raw WebSocket client) see, in one order, what 4 concurrent publishers send
// through node A's API; presence is the union across nodes; and a killed pub/sub connection
// (CLIENT KILL TYPE pubsub) is resubscribed within 2 s with the gap recovered from history. The
// gap is made certain by publishing, in the MULTI that kills the connections, with the engine's
// own publish script.
import { createLedger, type Ledger } from '@tidings/testkit';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { api, type Cluster, killAll, startCluster, until, wsUrl } from './cluster-harness.js';

let cluster: Cluster;
const subscribers: ClusterSubscriber[] = [];

beforeAll(async () => {
  cluster = await startCluster(false);
}, 30_000);

afterAll(async () => {
  for (const s of subscribers.splice(0)) s.close();
  await killAll();
});

/**
 * In one MULTI: kill every pub/sub connection, then store and publish `count` publications with
 * the engine's own publish script. Nothing can resubscribe in between, so B and C certainly miss
 * them; they are acked in `ledger` as any publisher's would be.
 */
async function killPubsubAndPublish(channel: string, count: number, ledger: Ledger): Promise<number> {
  const client = createClient({ url: cluster.redis.url });
  await client.connect();
  try {
    const base = `${cluster.prefix}{${channel}}`;
    const multi = client.multi().addCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    for (let i = 0; i < count; i++) {
      const body = encodePublicationBody({
        data: Buffer.from(JSON.stringify({ id: `gap-${i}` })),
        info: undefined,
        tags: undefined,
      });
      const args = [Buffer.from(body), '20000', '600000', '600000', 'unused', '0', `${base}:c`];
      multi.addCommand(['EVAL', PUBLISH_SCRIPT.source, '3', `${base}:m`, `${base}:h`, `${base}:i:`, ...args]);
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

/** Subscribers on B and C, one SDK and one raw client on each. */
async function subscribeOnBAndC(channel: string, ledger: ReturnType<typeof recordingLedger>['ledger']) {
  const { b, c } = cluster.nodes;
  const subs = await Promise.all([
    sdkSubscriber('sdk-b', wsUrl(b.port), channel, ledger),
    rawSubscriber('raw-b', wsUrl(b.port), channel, ledger),
    sdkSubscriber('sdk-c', wsUrl(c.port), channel, ledger),
    rawSubscriber('raw-c', wsUrl(c.port), channel, ledger),
  ]);
  subscribers.push(...subs);
  return subs;
}

describe('three nodes on one Redis', () => {
  it('B and C subscribers receive what 4 publishers send through A, in one order; presence is the union', async () => {
    const channel = 'feed:one';
    const rec = recordingLedger(createLedger());
    const subs = await subscribeOnBAndC(channel, rec.ledger);

    // Presence lives in Redis: every node lists the clients of B and C.
    const clientIds = subs.map((s) => s.clientIds.at(-1)).sort();
    for (const node of Object.values(cluster.nodes)) {
      const res = await api(node.url, 'presence', { channel });
      expect(res.status, node.name).toBe(200);
      const presence = (res.body.result as { presence: Record<string, { user: string }> }).presence;
      expect(Object.keys(presence).sort(), node.name).toEqual(clientIds);
      expect(
        Object.values(presence)
          .map((p) => p.user)
          .sort(),
      ).toEqual(['raw-b', 'raw-c', 'sdk-b', 'sdk-c']);
    }

    const base = cluster.nodes.a.url;
    const publishers = startPublishers(() => base, channel, rec.ledger, {
      publishers: 4,
      count: 100,
      pauseMs: 0,
      tag: 'one',
    });
    const run = await publishers.done;
    expect(run).toMatchObject({ acked: 400, unavailable: 0, other: [] });
    const end = await topOf(cluster.nodes.a.url, channel);
    expect(end.offset).toBe(400);
    await until(() => allAtTop(rec, subs, end), 10_000, 'every subscriber at the top');

    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(report.acked).toBe(400);
    // One order: every subscriber saw the same sequence of publications.
    const order = rec.ids('sdk-b');
    expect(order).toHaveLength(400);
    for (const s of subs) expect(rec.ids(s.id), s.id).toEqual(order);
    for (const s of subs) s.close();
  });

  it('a killed pub/sub connection is resubscribed within 2 s and the gap is recovered from history', async () => {
    const channel = 'feed:pubsub';
    const rec = recordingLedger(createLedger());
    const subs = await subscribeOnBAndC(channel, rec.ledger);
    const { redis } = cluster;
    const pubsubKey = `${cluster.prefix}{${channel}}:c`;
    const listeners = async () => Number((await redis.cli('PUBSUB', 'NUMSUB', pubsubKey)).split('\n')[1] ?? '0');
    expect(await listeners()).toBe(2); // one subscription per node (B and C), not per client
    const pubsubIds = async () =>
      (await redis.cli('CLIENT', 'LIST', 'TYPE', 'pubsub'))
        .split('\n')
        .map((line) => /^id=(\d+)/.exec(line)?.[1])
        .filter((id) => id !== undefined);

    const publishers = startPublishers(() => cluster.nodes.a.url, channel, rec.ledger, {
      publishers: 4,
      count: 150,
      pauseMs: 5,
      tag: 'pubsub',
    });
    await until(() => publishers.run.acked >= 100, 10_000, '100 acks before the kill');
    // Redis counts as pubsub the connections holding a subscription: one per node (A too, for the
    // node announcements channel). They come back faster than redis-cli runs, so "resubscribed"
    // is: three new connection ids subscribed, and B and C listening on the channel again.
    const before = await pubsubIds();
    expect(before).toHaveLength(3);
    const killedAt = Date.now();
    expect(await killPubsubAndPublish(channel, 20, rec.ledger)).toBe(3);
    await until(
      async () => (await listeners()) === 2 && (await pubsubIds()).filter((id) => !before.includes(id)).length === 3,
      2000,
      'B and C resubscribed on new connections within 2 s',
    );
    const resubscribedMs = Date.now() - killedAt;
    const run = await publishers.done;
    expect(run).toMatchObject({ acked: 600, unavailable: 0, other: [] });
    const end = await topOf(cluster.nodes.a.url, channel);
    expect(end.offset).toBe(620);
    await until(() => allAtTop(rec, subs, end), 10_000, 'every subscriber at the top');

    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(report.acked).toBe(620);
    // Every subscriber missed the 20 live and got them from history (2500, then recovered: true).
    expectRecoveredFromHistory(subs);
    const recoveries = subs.flatMap((s) => s.subscribes.filter((e) => e.wasRecovering));
    console.info(`pub/sub resubscribed in ${resubscribedMs} ms; ${recoveries.length} subscriber recoveries`);
  });
});
