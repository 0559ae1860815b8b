// Three `tidings serve` processes on the shared NATS JetStream (each run on its own streams and
// subjects, deleted afterwards): subscribers on nodes B and C (the centrifuge SDK and a raw
// WebSocket client) see, in one order, what 4 concurrent publishers send through node A's API;
// presence is the union across nodes; and `kill -9` of node B mid-stream moves its clients,
// behind a proxy standing in for a load balancer, to node C with no loss.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger } from '@tidings/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNatsReachable, deleteStreams, NATS_URL } from '../../packages/nats/src/test-nats.test-helpers.js';
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
import { api, type Cluster, killAll, nodeConfig, SwitchProxy, startNodes, until, wsUrl } from './cluster-harness.js';

const run = randomBytes(4).toString('hex');
const streamName = `TIDINGS_CLUSTER_${run}`;
let nodes: Cluster['nodes'];
const subscribers: ClusterSubscriber[] = [];
const proxies: SwitchProxy[] = [];

beforeAll(async () => {
  await assertNatsReachable();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-cluster-nats-'));
  const engine = {
    type: 'nats',
    servers: [NATS_URL],
    streamName,
    subjectPrefix: `tidings-test.cluster.${run}`,
    maxMessagesPerChannel: 20_000,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 1000,
  } as const;
  nodes = await startNodes(nodeConfig(dir, engine));
}, 30_000);

afterAll(async () => {
  for (const s of subscribers.splice(0)) s.close();
  for (const p of proxies.splice(0)) await p.close();
  await killAll();
  await deleteStreams(streamName);
});

describe('three nodes on one NATS JetStream', () => {
  it('B and C subscribers receive what 4 publishers send through A, in one order; presence is the union', async () => {
    const channel = 'feed:one';
    const rec = recordingLedger(createLedger());
    const { b, c } = nodes;
    const subs = await Promise.all([
      sdkSubscriber('sdk-b', wsUrl(b.port), channel, rec.ledger),
      rawSubscriber('raw-b', wsUrl(b.port), channel, rec.ledger),
      sdkSubscriber('sdk-c', wsUrl(c.port), channel, rec.ledger),
      rawSubscriber('raw-c', wsUrl(c.port), channel, rec.ledger),
    ]);
    subscribers.push(...subs);

    // Presence lives in JetStream: every node lists the clients of B and C.
    const clientIds = subs.map((s) => s.clientIds.at(-1)).sort();
    for (const node of Object.values(nodes)) {
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

    const publishers = startPublishers(() => nodes.a.url, channel, rec.ledger, {
      publishers: 4,
      count: 100,
      pauseMs: 0,
      tag: 'one',
    });
    const result = await publishers.done;
    expect(result).toMatchObject({ acked: 400, unavailable: 0, other: [] });
    const top = await topOf(nodes.a.url, channel);
    expect(top.offset).toBe(400);
    await until(() => allAtTop(rec, subs, top), 10_000, 'every subscriber at the top');

    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(report.acked).toBe(400);
    // One order: every subscriber saw the same sequence of publications.
    const order = rec.ids('sdk-b');
    expect(order).toHaveLength(400);
    for (const s of subs) expect(rec.ids(s.id), s.id).toEqual(order);
    for (const s of subs) s.close();
  });

  it('kill -9 of node B mid-stream: its clients reconnect through the proxy to C and recover with no loss', async () => {
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
    const killedAt = Date.now();
    await nodes.b.kill();
    const result = await publishers.done;
    expect(result).toMatchObject({ acked: 600, unavailable: 0, other: [] });
    const top = await topOf(nodes.a.url, channel);
    expect(top.offset).toBe(600);
    await until(() => allAtTop(rec, subs, top), 10_000, 'every subscriber at the top');
    const caughtUpMs = Date.now() - killedAt;

    const report = rec.ledger.check({ expectAll: true });
    expectClean(report);
    expect(report.acked).toBe(600);
    for (const s of subs.slice(0, 2)) {
      expect(s.clientIds.length, s.id).toBeGreaterThanOrEqual(2);
      expect(s.subscribes.at(-1), s.id).toMatchObject({ wasRecovering: true, recovered: true });
    }
    console.info(`node B killed: its clients on C and at the top ${caughtUpMs} ms later; ${report.acked} acked`);
  });
});
