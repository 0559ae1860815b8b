// deploy/nginx.conf and deploy/haproxy.cfg for real: two Tidings nodes on the shared Redis (a
// private key prefix, removed afterwards) behind real nginx and HAProxy processes. Through each
// proxy: a WebSocket subscription (the centrifuge SDK) gets a publication made through the
// proxy's API; SSE and NDJSON streams deliver their first event and a publication while the
// response is still open (nothing is buffered until the end); /readyz answers. Then one node
// stops being ready: HAProxy's /readyz check takes it out, nginx retries the other node.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { signToken } from '@tidings/server';
import { Centrifuge } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { StreamClient, type StreamFormat } from './one-way-client.js';
import { haproxyServerStatus, type ProxyProcess, startHaproxy, startNginx, until } from './proxy-processes.js';
import { requireTool } from './system-tools.js';

const secret = 'proxies-test-secret-0123456789abcdef';
const apiKey = 'proxies-test-api-key-0123456789';
const prefix = `tidings-test:${randomBytes(6).toString('hex')}:`;
// Heartbeats far apart: an event that arrives promptly was not pushed out by a heartbeat.
const heartbeatIntervalMs = 20_000;

const nodes: RunningServer[] = [];
const proxies: Partial<Record<ProxyProcess['name'], ProxyProcess>> = {};

function nodeConfig() {
  return loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      engine: { type: 'redis', url: 'redis://127.0.0.1:6379', prefix },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      sse: { heartbeatIntervalMs },
      httpStream: { heartbeatIntervalMs },
      channels: {
        namespaces: {
          chat: { historySize: 100, historyTtlMs: 300_000, allowRecovery: true, allowSubscribeForClient: true },
        },
      },
      log: { level: 'error' },
    },
  });
}

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });

async function publish(base: string, channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
}

function proxy(name: ProxyProcess['name']): ProxyProcess {
  const p = proxies[name];
  if (p === undefined) throw new Error(`${name} is not running`);
  return p;
}

beforeAll(async () => {
  requireTool('nginx', 'nginx');
  requireTool('haproxy', 'haproxy');
  requireTool('redis-cli', 'redis-tools');
  nodes.push(await startServer(nodeConfig(), { logger: silentLogger }));
  nodes.push(await startServer(nodeConfig(), { logger: silentLogger }));
  const ports = [nodes[0]?.port ?? 0, nodes[1]?.port ?? 0] as const;
  proxies.nginx = await startNginx(ports);
  proxies.haproxy = await startHaproxy(ports);
  for (const p of [proxies.nginx, proxies.haproxy]) {
    await until(
      async () => (await fetch(`http://127.0.0.1:${p.port}/readyz`)).status === 200,
      10_000,
      () => `(${p.name} did not come up: ${p.output()})`,
    );
  }
});

afterAll(async () => {
  for (const p of Object.values(proxies)) await p?.stop();
  for (const n of nodes.splice(0)) await n.close();
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

describe.each(['nginx', 'haproxy'] as const)('through %s with the config from deploy/', (name) => {
  const base = () => `http://127.0.0.1:${proxy(name).port}`;

  it('answers /readyz and /healthz from the nodes', async () => {
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
    // Both nodes run on the shared Redis engine: a node counts the ones it has heard from so far.
    const body = (await ready.json()) as { nodes?: number };
    expect(body).toMatchObject({ status: 'ready', engine: { type: 'redis', ready: true } });
    expect(body.nodes).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${base()}/healthz`)).status).toBe(200);
  });

  it('upgrades a WebSocket: the SDK receives a publication made through the proxy API', async () => {
    const channel = `chat:ws-${name}`;
    const client = new Centrifuge(`ws://127.0.0.1:${proxy(name).port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token('alice'),
    });
    try {
      const sub = client.newSubscription(channel);
      const received = new Promise<unknown>((resolve) => sub.on('publication', (ctx) => resolve(ctx.data)));
      const subscribed = new Promise<void>((resolve) => sub.on('subscribed', () => resolve()));
      sub.subscribe();
      client.connect();
      await subscribed;
      // Several publishes: with two nodes behind the proxy, API calls and the socket land on
      // either node, so at least some deliveries cross nodes through Redis.
      for (let i = 0; i < 3; i++) await publish(base(), channel, { via: name, i });
      await expect(received).resolves.toEqual({ via: name, i: 0 });
    } finally {
      client.disconnect();
    }
  });

  it.each([
    ['SSE', '/connection/sse', 'sse'],
    ['NDJSON', '/connection/stream', 'ndjson'],
  ] as const)(
    'passes a %s stream through unbuffered: events arrive while it is open',
    { timeout: 10_000 },
    async (_, path, format) => {
      const channel = `chat:${format}-${name}`;
      const stream = await StreamClient.open(`${base()}${path}?channel=${channel}`, format as StreamFormat, {
        Authorization: `Bearer ${await token('bob')}`,
      });
      try {
        expect(stream.response.status).toBe(200);
        const started = Date.now();
        const connected = await stream.next((e) => e.data.type === 'connected', 3000);
        expect(connected.data.channels).toEqual([channel]);
        expect(Date.now() - started).toBeLessThan(3000);
        expect(stream.ended).toBe(false);

        await publish(base(), channel, { text: `through ${name}` });
        const pub = await stream.next((e) => e.data.type === 'publication', 3000);
        expect(pub.data).toMatchObject({ channel, offset: 1, data: { text: `through ${name}` } });
        // Delivered as it happened: the response is still open, no heartbeat was needed to flush it.
        expect(stream.ended).toBe(false);
        expect(stream.heartbeats).toBe(0);
      } finally {
        stream.close();
      }
    },
  );
});

describe('a node that is not ready', () => {
  it('is taken out by HAProxy /readyz checks; nginx retries the other node', async () => {
    const [, second] = nodes;
    if (second === undefined) throw new Error('two nodes expected');
    const haproxy = proxy('haproxy');
    const statsPort = haproxy.statsPort ?? 0;
    // Before its first check a server shows "UP 1/2" (up, not yet confirmed).
    await until(
      async () => (await haproxyServerStatus(statsPort, 'tidings', 'node2')) === 'UP',
      10_000,
      () => haproxy.output(),
    );

    // What SIGTERM starts: the node stops being ready while its HTTP listener still answers.
    await second.node.shutdown();
    expect((await fetch(`${second.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${second.url}/healthz`)).status).toBe(200);

    // The template checks every 2 s and needs 2 failures.
    await until(async () => (await haproxyServerStatus(statsPort, 'tidings', 'node2')) === 'DOWN', 10_000);
    expect(await haproxyServerStatus(statsPort, 'tidings_sticky', 'node2')).toBe('DOWN');
    expect(await haproxyServerStatus(statsPort, 'tidings', 'node1')).toBe('UP');

    for (const p of [haproxy, proxy('nginx')]) {
      for (let i = 0; i < 6; i++) {
        expect((await fetch(`http://127.0.0.1:${p.port}/readyz`)).status, `${p.name} request ${i}`).toBe(200);
      }
    }
  });
});
