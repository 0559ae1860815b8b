// `tidings serve` on a Redis Cluster: two nodes configured with engine.clusterNodes share
// channels whose history and pub/sub live on different shards of a private 3-master cluster;
// an SDK subscriber on node B receives, in order, what the API of node A published, and
// recovers what it missed; /readyz follows a paused master while /healthz stays up.
import { signToken } from '@tidings/server';
import { Centrifuge, type Subscription } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { KeySpace } from '../../packages/redis/src/keys.js';
import { type PrivateCluster, startPrivateCluster } from '../../packages/redis/src/redis-cluster.test-helpers.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'redis-cluster-serve-secret-0123456789';
const apiKey = 'redis-cluster-serve-api-key-0123';
let cluster: PrivateCluster;
const servers: RunningServer[] = [];

beforeAll(async () => {
  cluster = await startPrivateCluster(3);
}, 60_000);
afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
  await cluster?.stop();
});

function config() {
  return loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      engine: { type: 'redis', clusterNodes: cluster.urls, connectTimeoutMs: 1000, commandTimeoutMs: 500 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          chat: { historySize: 100, historyTtlMs: 300_000, allowRecovery: true, allowSubscribeForClient: true },
        },
      },
      log: { level: 'error' },
    },
  });
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const publish = (base: string, channel: string, data: unknown) =>
  fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
const status = async (url: string) => (await fetch(url)).status;

const shardOf = (channel: string) => cluster.shardOf(new KeySpace().pubsub(channel));

describe('tidings serve with engine.clusterNodes (Redis Cluster)', () => {
  it('two nodes: API publishes on node A reach an SDK subscriber on node B in order, across shards; missed ones are recovered', async () => {
    const [a, b] = [
      await startServer(config(), { logger: silentLogger }),
      await startServer(config(), { logger: silentLogger }),
    ];
    servers.push(a, b);
    const baseA = `http://127.0.0.1:${a.port}`;
    expect([await status(`${baseA}/readyz`), await status(`http://127.0.0.1:${b.port}/readyz`)]).toEqual([200, 200]);
    const channels: string[] = [];
    const shards = new Set<number>();
    for (let i = 0; shards.size < 3 && i < 100; i++) {
      const shard = await shardOf(`chat:room${i}`);
      if (shards.has(shard)) continue;
      shards.add(shard);
      channels.push(`chat:room${i}`);
    }
    expect(shards.size).toBe(3);
    const client = new Centrifuge(`ws://127.0.0.1:${b.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await signToken({ sub: 'alice' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
    });
    const got = new Map<string, number[]>(channels.map((ch) => [ch, []]));
    const recovered: boolean[] = [];
    const subs: Subscription[] = channels.map((ch) => {
      const sub = client.newSubscription(ch, { recoverable: true });
      sub.on('publication', (ctx) => got.get(ch)?.push((ctx.data as { n: number }).n));
      sub.on('subscribed', (ctx) => recovered.push(ctx.recovered));
      return sub;
    });
    try {
      client.connect();
      for (const sub of subs) sub.subscribe();
      await Promise.all(subs.map((sub) => sub.ready(5000)));
      for (let n = 1; n <= 5; n++) {
        const answers = await Promise.all(channels.map((ch) => publish(baseA, ch, { n })));
        expect(answers.map((r) => r.status)).toEqual(channels.map(() => 200));
      }
      await until(() => [...got.values()].every((ns) => ns.length === 5), 5000, 'live deliveries');
      client.disconnect();
      for (let n = 6; n <= 10; n++)
        for (const ch of channels) expect((await publish(baseA, ch, { n })).status).toBe(200);
      client.connect();
      await until(() => [...got.values()].every((ns) => ns.length === 10), 5000, 'recovered deliveries');
      for (const ch of channels) expect(got.get(ch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(recovered.slice(channels.length)).toEqual(channels.map(() => true));
    } finally {
      client.disconnect();
    }
  });

  it('/readyz is 503 while a master is paused, publishes to its shard answer 503, /healthz stays 200', async () => {
    const server = await startServer(config(), { logger: silentLogger });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    await until(async () => (await status(`${base}/readyz`)) === 200, 5000, 'ready');
    const victim = cluster.processes[await shardOf('chat:paused')];
    victim?.kill('SIGSTOP');
    try {
      await until(async () => (await status(`${base}/readyz`)) === 503, 5000, 'not ready while paused');
      expect(await status(`${base}/healthz`)).toBe(200);
      expect((await publish(base, 'chat:paused', { n: 1 })).status).toBe(503);
    } finally {
      victim?.kill('SIGCONT');
    }
    await until(async () => (await status(`${base}/readyz`)) === 200, 5000, 'ready after SIGCONT');
    expect((await publish(base, 'chat:paused', { n: 2 })).status).toBe(200);
  });
});
