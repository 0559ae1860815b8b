// A private Redis under a three-node cluster killed (SIGKILL) mid-stream and restarted, without
// and with persistence, each checked by the ledger. Without: every subscriber gets an explicit
// signal (recovered: false under a new epoch), nothing is lost silently, and no offset is issued
// twice under the old epoch. With (AOF, fsync always): the epoch survives and every subscriber
// recovers everything acknowledged.
import { createLedger } from '@tidings/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterSubscriber,
  expectClean,
  expectRecoveredFromHistory,
  rawSubscriber,
  recordingLedger,
  sdkSubscriber,
  startPublishers,
  topOf,
} from './cluster-clients.js';
import { type Cluster, killAll, readyz, sleep, startCluster, until, wsUrl } from './cluster-harness.js';

const subscribers: ClusterSubscriber[] = [];

afterAll(async () => {
  for (const s of subscribers.splice(0)) s.close();
  await killAll();
});

/** Streams through A to subscribers on B and C while the Redis is killed and restarted. */
async function streamAcrossRestart(cluster: Cluster, channel: string) {
  const { nodes, redis } = cluster;
  const rec = recordingLedger(createLedger());
  const subs = await Promise.all([
    sdkSubscriber('sdk-b', wsUrl(nodes.b.port), channel, rec.ledger),
    rawSubscriber('raw-b', wsUrl(nodes.b.port), channel, rec.ledger),
    sdkSubscriber('sdk-c', wsUrl(nodes.c.port), channel, rec.ledger),
    rawSubscriber('raw-c', wsUrl(nodes.c.port), channel, rec.ledger),
  ]);
  // Away across the whole outage: it must resume from history that lived through the restart.
  const away = await sdkSubscriber('sdk-away', wsUrl(nodes.c.port), channel, rec.ledger);
  subs.push(away);
  subscribers.push(...subs);
  const publishers = startPublishers(() => nodes.a.url, channel, rec.ledger, {
    publishers: 4,
    count: 3000,
    pauseMs: 10,
    tag: channel,
  });
  await until(() => publishers.run.acked >= 100, 10_000, '100 acks before the kill');
  const firstEpoch = rec.acks[0]?.epoch;
  away.close();
  await until(() => publishers.run.acked >= 150, 10_000, '50 acks while a subscriber is away');
  await redis.kill();
  const killedAt = Date.now();
  await sleep(300);
  await redis.start();
  const all = Object.values(nodes);
  await until(
    async () => (await Promise.all(all.map((n) => readyz(n.url)))).every((s) => s === 200),
    10_000,
    'every node ready after the restart',
  );
  const ackedBefore = publishers.run.acked;
  await until(() => publishers.run.acked >= ackedBefore + 50, 10_000, '50 acks after the restart');
  away.connect();
  await until(() => publishers.run.acked >= ackedBefore + 100, 10_000, '100 acks after the restart');
  const run = await publishers.stop();
  expect(run.other).toEqual([]);
  expect(run.unavailable).toBeGreaterThan(0); // refused while Redis was down, never acknowledged
  const top = await topOf(nodes.a.url, channel);
  await until(
    () => subs.every((s) => rec.last(s.id)?.offset === top.offset && rec.last(s.id)?.epoch === top.epoch),
    10_000,
    'every subscriber at the top',
  );
  return { rec, subs, top, firstEpoch, killedAt };
}

describe('Redis restarted without persistence', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(false);
  }, 30_000);
  afterAll(killAll);

  it('every subscriber gets recovered: false under a new epoch; no silent loss; no offset reissued in the old epoch', async () => {
    const { rec, subs, top, firstEpoch, killedAt } = await streamAcrossRestart(cluster, 'feed:volatile');
    expect(top.epoch).not.toBe(firstEpoch);
    // Old-epoch offsets were all handed out before the kill; afterwards only the new epoch.
    expect(rec.acks.filter((a) => a.epoch === firstEpoch && a.at > killedAt)).toEqual([]);
    expect(new Set(rec.acks.map((a) => a.epoch))).toEqual(new Set([firstEpoch, top.epoch]));
    for (const s of subs) {
      expect(
        s.subscribes.some((e) => e.wasRecovering && !e.recovered && e.epoch === top.epoch),
        `${s.id}: ${JSON.stringify(s.subscribes)}`,
      ).toBe(true);
    }
    const report = rec.ledger.check();
    expectClean(report);
    expect(report.perSubscriber['sdk-b']?.discontinuities).toBeGreaterThan(0);
  });
});

describe('Redis restarted with persistence (AOF, fsync always)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(true);
  }, 30_000);
  afterAll(killAll);

  it('the epoch survives and every subscriber recovers everything acknowledged', async () => {
    const { rec, subs, top, firstEpoch } = await streamAcrossRestart(cluster, 'feed:durable');
    expect(top.epoch).toBe(firstEpoch);
    expect(new Set(rec.acks.map((a) => a.epoch))).toEqual(new Set([firstEpoch]));
    expectRecoveredFromHistory(subs, false);
    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    // The away subscriber got what it missed, before and after the restart, from history.
    expect(subs.find((s) => s.id === 'sdk-away')?.subscribes.at(-1)).toMatchObject({
      wasRecovering: true,
      recovered: true,
    });
    expect(report.perSubscriber['sdk-away']?.received).toBeGreaterThanOrEqual(report.acked);
  });
});
