// Two `tidings serve` nodes on the shared Redis: each lists both in /api/info (nodes announce
// themselves through the engine), and one scrape per node sums to what the test did.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'metrics-nodes-secret-0123456789abcdef';
const apiKey = 'metrics-nodes-api-key-0123456789';
const prefix = `tidings-test:${randomBytes(6).toString('hex')}:`;
const nodes: RunningServer[] = [];

beforeAll(async () => {
  for (const name of ['node-a', 'node-b']) {
    const config = loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        engine: { type: 'redis', url: 'redis://127.0.0.1:6379', prefix },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        metrics: { enabled: true },
        channels: { namespaces: { feed: { allowSubscribeForClient: true } } },
        log: { level: 'error' },
      },
    });
    nodes.push(await startServer(config, { logger: silentLogger, nodeName: name }));
  }
});
afterAll(async () => {
  for (const n of nodes.splice(0)) await n.close();
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function api(node: RunningServer, method: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${node.url}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: Record<string, unknown> }).result;
}

async function sample(node: RunningServer, key: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? 0 : Number(line.slice(key.length + 1));
}

/** Connects, subscribes to `channel`, and counts publication pushes. */
async function subscriber(node: RunningServer, channel: string): Promise<{ count: () => number; close: () => void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/connection/websocket`);
  let pubs = 0;
  let subscribed = false;
  ws.on('message', (data: Buffer) => {
    for (const line of data.toString().split('\n')) {
      if (line === '') continue;
      const m = JSON.parse(line) as { id?: number; push?: { pub?: unknown } };
      if (m.id === 2) subscribed = true;
      if (m.push?.pub !== undefined) pubs++;
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const token = await signToken({ sub: 'u' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
  ws.send(`${JSON.stringify({ id: 1, connect: { token } })}\n${JSON.stringify({ id: 2, subscribe: { channel } })}`);
  await until(() => subscribed, 'subscribe reply');
  return { count: () => pubs, close: () => ws.close() };
}

it('lists both nodes on each, and per-node scrapes sum to the load', async () => {
  const [a, b] = nodes as [RunningServer, RunningServer];
  for (const node of [a, b]) {
    await until(async () => {
      const info = await api(node, 'info', {});
      const names = (info.nodes as Array<{ name: string }>).map((n) => n.name).sort();
      return names.join(',') === 'node-a,node-b';
    }, `both nodes in /api/info of ${node.node.name}`);
  }
  const subs = [await subscriber(a, 'feed:x'), await subscriber(a, 'feed:x'), await subscriber(b, 'feed:x')];
  const key = 'tidings_transport_deliveries_total{transport="websocket"}';
  const before = [await sample(a, key), await sample(b, key)];
  for (let i = 0; i < 5; i++) await api(a, 'publish', { channel: 'feed:x', data: { i } });
  await until(() => subs.every((s) => s.count() === 5), 'deliveries on both nodes');
  const after = [await sample(a, key), await sample(b, key)];
  expect(after[0]! - before[0]!).toBe(10);
  expect(after[1]! - before[1]!).toBe(5);
  expect(await sample(a, 'tidings_node_publications_total{source="api"}')).toBe(5);
  expect(await sample(b, 'tidings_node_publications_total{source="api"}')).toBe(0);
  expect(await sample(a, 'tidings_client_connections{transport="websocket",codec="json"}')).toBe(2);
  expect(await sample(b, 'tidings_client_connections{transport="websocket",codec="json"}')).toBe(1);
  for (const s of subs) s.close();
});
