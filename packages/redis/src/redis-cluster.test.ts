// The Redis engine on a private 3-master Redis Cluster (started here, stopped after): the
// conformance suite and history model, keys of one channel on one slot, two engines (= two
// nodes) exchanging channels of every shard, and the fault paths (pub/sub connection killed,
// a master paused, nothing reachable).
import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { EventRecorder, fromUtf8, runBrokerConformance, runHistoryModelTest, utf8, waitFor } from '@tidings/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeySpace } from './keys.js';
import { type PrivateCluster, startPrivateCluster } from './redis-cluster.test-helpers.js';
import { createRedisEngine, type RedisEngine, type RedisEngineOptions } from './redis-engine.js';
import { testPrefix } from './test-redis.test-helpers.js';

let cluster: PrivateCluster;
const opened: RedisEngine[] = [];

beforeAll(async () => {
  cluster = await startPrivateCluster(3);
}, 60_000);
afterAll(async () => {
  for (const engine of opened.splice(0)) await engine.close();
  await cluster?.stop();
});
afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
});

const clusterEngine = (options: Partial<RedisEngineOptions> = {}) => {
  const engine = createRedisEngine({ cluster: cluster.urls, prefix: testPrefix(), ...options });
  opened.push(engine);
  return engine;
};
const retain = { history: { size: 100, ttlMs: 60_000, metaTtlMs: 600_000 } };
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isTidingsError(e) ? e.code : e),
  );

async function slotOf(key: string): Promise<number> {
  return Number(await cluster.command(0, ['CLUSTER', 'KEYSLOT', key]));
}

runBrokerConformance({
  name: 'redis cluster engine',
  create: async () => createRedisEngine({ cluster: cluster.urls, prefix: testPrefix() }),
  presenceTtlMs: 300,
  publishMany: true,
});
runHistoryModelTest({
  name: 'redis cluster engine',
  create: async () => createRedisEngine({ cluster: cluster.urls, prefix: testPrefix() }),
});

describe('Redis engine on a Redis Cluster', () => {
  it('puts every key and the pub/sub channel of one channel on one slot, for any channel name', async () => {
    const keys = new KeySpace('p:');
    for (const ch of ['chat', 'ns:room#u1,u2', '', '}x', '%y', 'a}b', '{c}', 'x{y}z']) {
      const names = [
        keys.meta(ch),
        keys.history(ch),
        keys.idempotency(ch, 'k{1}'),
        keys.presenceInfo(ch),
        keys.presenceExpiry(ch),
        keys.pubsub(ch),
      ];
      const slots = new Set(await Promise.all(names.map(slotOf)));
      expect([ch, slots.size]).toEqual([ch, 1]);
    }
    // The escape keeps distinct channels apart.
    expect(keys.meta('}x')).not.toBe(keys.meta('%}x'));
    expect(keys.meta('')).not.toBe(keys.meta('%'));
  });

  it('two engines (two nodes): channels on every shard, published through one, arrive at the other in offset order', async () => {
    const prefix = testPrefix();
    const a = clusterEngine({ prefix });
    const b = clusterEngine({ prefix });
    const events = new EventRecorder();
    await a.broker.start(new EventRecorder());
    await b.broker.start(events);
    const keys = new KeySpace(prefix);
    const channels: string[] = [];
    const perShard = new Map<number, number>();
    for (let i = 0; channels.length < 9 && i < 300; i++) {
      const ch = `two-nodes-${i}`;
      const shard = await cluster.shardOf(keys.pubsub(ch));
      if ((perShard.get(shard) ?? 0) >= 3) continue;
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      channels.push(ch);
    }
    expect([...perShard.values()]).toEqual([3, 3, 3]);
    await b.broker.subscribe(channels);
    const perChannel = 30;
    await Promise.all(
      channels.map(async (ch) => {
        // Concurrent publishes per channel; the script orders them.
        await Promise.all(
          Array.from({ length: perChannel }, (_, i) => a.broker.publish(ch, utf8(`${ch}/${i}`), retain)),
        );
      }),
    );
    const total = channels.length * perChannel;
    await waitFor(() => channels.every((ch) => events.of(ch).length === perChannel), 5000, `${total} deliveries`);
    for (const ch of channels) {
      const got = events.of(ch);
      expect(got.map((d) => d.pub.offset)).toEqual(Array.from({ length: perChannel }, (_, i) => i + 1));
      const h = await b.history.history(ch, { limit: -1 });
      expect(h.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual(
        got.map((d) => [d.pub.offset, fromUtf8(d.pub.data)]),
      );
      expect(new Set(got.map((d) => d.epoch))).toEqual(new Set([h.epoch]));
    }
    // Every publication went out with SPUBLISH, on its shard: plain PUBLISH (broadcast to all
    // shards over the cluster bus) was never used.
    const stats = await Promise.all(cluster.urls.map((_, i) => cluster.command(i, ['INFO', 'commandstats'])));
    for (const info of stats.map(String)) {
      expect(info).toContain('cmdstat_spublish:');
      expect(info).not.toContain('cmdstat_publish:');
    }
    // Presence of one channel is shared by both nodes through its shard.
    await a.presence.add(channels[0] ?? '', 'c1', { client: 'c1', user: 'u1' }, 60_000);
    expect(Object.keys(await b.presence.get(channels[0] ?? ''))).toEqual(['c1']);
  });

  it('reports a discontinuity after a shard pub/sub connection is killed, and delivers again', async () => {
    const clientName = `tidings-cluster-${Math.random().toString(36).slice(2, 10)}`;
    const engine = clusterEngine({ clientName });
    const gaps: string[][] = [];
    const events = new EventRecorder();
    await engine.broker.start({
      onPublication: (c, p, e) => events.onPublication(c, p, e),
      onJoin: (c, i) => events.onJoin(c, i),
      onLeave: (c, i) => events.onLeave(c, i),
      onDiscontinuity: (chs) => gaps.push([...chs]),
    });
    const ch = 'killed-pubsub';
    await engine.broker.subscribe([ch]);
    await engine.broker.publish(ch, utf8('before'), retain);
    await waitFor(() => events.of(ch).length === 1, 2000, 'the first delivery');
    // Kill this engine's pub/sub connections on every master (only the owner's exists).
    let killed = 0;
    for (let i = 0; i < cluster.urls.length; i++) {
      killed += Number(await cluster.command(i, ['CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes']));
    }
    expect(killed).toBeGreaterThanOrEqual(1);
    await waitFor(() => gaps.length >= 1, 3000, 'the discontinuity signal');
    expect(gaps[0]).toEqual([ch]);
    await waitFor(() => engine.broker.ready(), 3000, 'ready again');
    await engine.broker.publish(ch, utf8('after'), retain);
    await waitFor(() => events.of(ch).length === 2, 2000, 'delivery after resubscribing');
    expect(events.of(ch).map((d) => [d.pub.offset, fromUtf8(d.pub.data)])).toEqual([
      [1, 'before'],
      [2, 'after'],
    ]);
  });

  it('a paused master makes the engine not ready and publishes fail fast with TIDINGS_ERR_UNAVAILABLE; SIGCONT recovers', async () => {
    const engine = clusterEngine({ commandTimeoutMs: 300, pingIntervalMs: 100 });
    await engine.broker.start(new EventRecorder());
    await engine.broker.publish('paused', utf8('before'), retain);
    expect(engine.broker.ready()).toBe(true);
    const victim = cluster.processes[await cluster.shardOf(new KeySpace().meta('paused'))];
    victim?.kill('SIGSTOP');
    try {
      await waitFor(() => !engine.broker.ready(), 2000, 'not ready while a master is paused');
      const t0 = Date.now();
      expect(await rejection(engine.broker.publish('paused', utf8('during'), retain))).toBe(
        TidingsErrorCode.Unavailable,
      );
      expect(Date.now() - t0).toBeLessThan(100);
    } finally {
      victim?.kill('SIGCONT');
    }
    await waitFor(() => engine.broker.ready(), 3000, 'ready after SIGCONT');
    expect((await engine.broker.publish('paused', utf8('after'), retain)).offset).toBeGreaterThanOrEqual(2);
  });
});

describe('Redis engine on a Redis Cluster: a master restarted without persistence', () => {
  it('is not ready and fails publishes while the master is down; afterwards resubscribes, reports a discontinuity and starts a new epoch', async () => {
    const engine = clusterEngine({ commandTimeoutMs: 300, pingIntervalMs: 100, maxReconnectDelayMs: 100 });
    const gaps: string[][] = [];
    const events = new EventRecorder();
    await engine.broker.start({
      onPublication: (c, p, e) => events.onPublication(c, p, e),
      onJoin: (c, i) => events.onJoin(c, i),
      onLeave: (c, i) => events.onLeave(c, i),
      onDiscontinuity: (chs) => gaps.push([...chs]),
    });
    const ch = 'restarted-master';
    await engine.broker.subscribe([ch]);
    const before = await engine.broker.publish(ch, utf8('before'), retain);
    await waitFor(() => events.of(ch).length === 1, 2000, 'the first delivery');
    const index = await cluster.shardOf(new KeySpace().meta(ch));
    await cluster.kill(index);
    await waitFor(() => !engine.broker.ready(), 2000, 'not ready while the master is down');
    expect(await rejection(engine.broker.publish(ch, utf8('during'), retain))).toBe(TidingsErrorCode.Unavailable);
    await cluster.revive(index);
    await waitFor(() => engine.broker.ready(), 5000, 'ready after the restart');
    await waitFor(() => gaps.length >= 1, 3000, 'the discontinuity signal');
    expect(gaps[0]).toEqual([ch]);
    // The shard lost the channel's meta: a new epoch from offset 1, never old offsets reissued.
    const after = await engine.broker.publish(ch, utf8('after'), retain);
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    await waitFor(() => events.of(ch).length === 2, 2000, 'delivery after the restart');
    expect(events.of(ch).map((d) => [d.pub.offset, d.epoch])).toEqual([
      [1, before.epoch],
      [1, after.epoch],
    ]);
  });

  it('start fails while a master is down, and the engine connects in the background once it is back', async () => {
    await cluster.kill(2);
    const engine = clusterEngine({ connectTimeoutMs: 300, commandTimeoutMs: 300, maxReconnectDelayMs: 100 });
    try {
      expect(await rejection(engine.broker.start(new EventRecorder()))).toBe(TidingsErrorCode.Unavailable);
      expect(engine.broker.ready()).toBe(false);
    } finally {
      await cluster.revive(2);
    }
    await waitFor(() => engine.broker.ready(), 5000, 'ready once every master is back');
    expect((await engine.broker.publish('late-start', utf8('x'), retain)).offset).toBe(1);
  });

  it('cluster: true connects through url as the one root node', async () => {
    const engine = clusterEngine({ cluster: true, url: cluster.urls[1] ?? '' });
    const events = new EventRecorder();
    await engine.broker.start(events);
    const channels = ['root-a', 'root-b', 'root-c', 'root-d'];
    await engine.broker.subscribe(channels);
    for (const ch of channels) await engine.broker.publish(ch, utf8(ch), retain);
    await waitFor(() => channels.every((ch) => events.of(ch).length === 1), 2000, 'deliveries');
  });
});

describe('Redis engine with an unreachable cluster', () => {
  it('start, publish and presence reject with TIDINGS_ERR_UNAVAILABLE; not ready', async () => {
    const engine = createRedisEngine({
      cluster: ['redis://127.0.0.1:1'],
      connectTimeoutMs: 300,
      commandTimeoutMs: 300,
      maxReconnectDelayMs: 100,
    });
    opened.push(engine);
    expect(await rejection(engine.broker.start(new EventRecorder()))).toBe(TidingsErrorCode.Unavailable);
    const t0 = Date.now();
    expect(await rejection(engine.broker.publish('ch', utf8('x'), retain))).toBe(TidingsErrorCode.Unavailable);
    expect(await rejection(engine.presence.get('ch'))).toBe(TidingsErrorCode.Unavailable);
    expect(await rejection(engine.broker.subscribe(['ch']))).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(engine.broker.ready()).toBe(false);
  });
});
