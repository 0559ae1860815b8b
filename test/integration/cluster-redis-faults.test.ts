// Faults of a three-node cluster on a private Redis, each checked by the ledger: `kill -9` of a
// node mid-stream (its clients, behind a proxy standing in for a load balancer, reconnect to
// another node and recover with no loss), and Redis paused with SIGSTOP for 10 s (every node
// reports not ready within 5 s, publishes answer 503, nothing acknowledged is lost).
import { createLedger } from '@tidings/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allAtTop,
  type ClusterSubscriber,
  expectClean,
  rawSubscriber,
  recordingLedger,
  sdkSubscriber,
  startPublishers,
  topOf,
} from './cluster-clients.js';
import {
  api,
  type Cluster,
  killAll,
  readyz,
  SwitchProxy,
  sleep,
  startCluster,
  until,
  wsUrl,
} from './cluster-harness.js';

let cluster: Cluster;
const subscribers: ClusterSubscriber[] = [];
const proxies: SwitchProxy[] = [];

beforeAll(async () => {
  cluster = await startCluster(false);
}, 30_000);

afterAll(async () => {
  for (const s of subscribers.splice(0)) s.close();
  for (const p of proxies.splice(0)) await p.close();
  await killAll();
});

describe('three nodes on one Redis, under faults', () => {
  it('Redis paused 10 s (SIGSTOP): not ready within 5 s, publishes answer 503, nothing acknowledged is lost', async () => {
    const { redis, nodes } = cluster;
    const channel = 'feed:pause';
    const rec = recordingLedger(createLedger());
    const subs = await Promise.all([
      sdkSubscriber('sdk-b', wsUrl(nodes.b.port), channel, rec.ledger),
      rawSubscriber('raw-c', wsUrl(nodes.c.port), channel, rec.ledger),
    ]);
    subscribers.push(...subs);
    const publishers = startPublishers(() => nodes.a.url, channel, rec.ledger, {
      publishers: 4,
      count: 2000,
      pauseMs: 20,
      tag: 'pause',
    });
    await until(() => publishers.run.acked >= 50, 10_000, '50 acks before the pause');
    const all = Object.values(nodes);
    for (const n of all) expect(await readyz(n.url), n.name).toBe(200);

    redis.signal('SIGSTOP');
    const stoppedAt = Date.now();
    let detectedAt = 0;
    try {
      await until(
        async () => (await Promise.all(all.map((n) => readyz(n.url)))).every((s) => s === 503),
        5000,
        'every node reports not ready within 5 s of SIGSTOP',
      );
      detectedAt = Date.now();
      const ackedAtDetection = publishers.run.acked;
      await sleep(Math.max(0, stoppedAt + 10_000 - Date.now()));
      // Nothing may be acknowledged while Redis cannot store it.
      expect(publishers.run.acked).toBe(ackedAtDetection);
      expect(publishers.run.unavailableAt.filter((t) => t > detectedAt).length).toBeGreaterThan(0);
    } finally {
      redis.signal('SIGCONT');
    }
    const resumedAt = Date.now();
    await until(
      async () => (await Promise.all(all.map((n) => readyz(n.url)))).every((s) => s === 200),
      5000,
      'every node ready again after SIGCONT',
    );
    const readyAgainMs = Date.now() - resumedAt;
    const ackedBefore = publishers.run.acked;
    await until(() => publishers.run.acked >= ackedBefore + 50, 10_000, '50 acks after SIGCONT');
    const run = await publishers.stop();
    expect(run.other).toEqual([]);

    const top = await topOf(nodes.a.url, channel);
    await until(() => allAtTop(rec, subs, top), 10_000, 'every subscriber at the top');
    // Every acknowledged publication is in the stored history, under one epoch.
    const history = await api(nodes.a.url, 'history', { channel, limit: -1 });
    const stored = new Set(
      (history.body.result as { publications: Array<{ data: { id: string } }> }).publications.map((p) => p.data.id),
    );
    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(stored.size).toBeGreaterThanOrEqual(report.acked);
    for (const s of subs)
      expect(
        rec.ids(s.id).filter((id) => !stored.has(id)),
        s.id,
      ).toEqual([]);
    console.info(
      `SIGSTOP detected on all nodes in ${detectedAt - stoppedAt} ms; ready ${readyAgainMs} ms after SIGCONT; ` +
        `${run.acked} acked, ${run.unavailable} answered 503`,
    );
  });

  it('kill -9 of node B mid-stream: its clients reconnect through the proxy to C and recover with no loss', async () => {
    const { nodes } = cluster;
    const channel = 'feed:nodekill';
    const rec = recordingLedger(createLedger());
    const proxy = new SwitchProxy(nodes.b.port);
    proxies.push(proxy);
    await proxy.listen();
    const subs = await Promise.all([
      sdkSubscriber('sdk-lb', wsUrl(proxy.port), channel, rec.ledger),
      rawSubscriber('raw-lb', wsUrl(proxy.port), channel, rec.ledger),
      sdkSubscriber('sdk-c', wsUrl(nodes.c.port), channel, rec.ledger),
    ]);
    subscribers.push(...subs);
    const publishers = startPublishers(() => nodes.a.url, channel, rec.ledger, {
      publishers: 4,
      count: 150,
      pauseMs: 5,
      tag: 'nodekill',
    });
    await until(() => publishers.run.acked >= 150, 10_000, '150 acks before the kill');
    // The load balancer's health check takes B out, then B dies.
    proxy.target = nodes.c.port;
    await nodes.b.kill();
    const run = await publishers.done;
    expect(run).toMatchObject({ acked: 600, unavailable: 0, other: [] });
    const top = await topOf(nodes.a.url, channel);
    await until(() => allAtTop(rec, subs, top), 10_000, 'every subscriber at the top');

    expectClean(rec.ledger.check({ expectAll: true }));
    for (const s of subs.slice(0, 2)) {
      expect(s.clientIds.length, s.id).toBeGreaterThanOrEqual(2);
      expect(s.subscribes.at(-1), s.id).toMatchObject({ wasRecovering: true, recovered: true });
    }
  });
});
