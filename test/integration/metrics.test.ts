// Prometheus metrics of a real server under a known load: a scrape of /metrics must match
// exactly what the test did (publications by source, deliveries per transport, disconnect codes,
// recovery outcomes), and the delivery latency histogram must move when a delay is injected.
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { StreamClient } from './one-way-client.js';

const secret = 'metrics-secret-0123456789abcdef!!!';
const apiKey = 'metrics-api-key-0123456789';
const metricsToken = 'metrics-scrape-token-0123456789';
let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        metrics: { enabled: true, token: metricsToken },
        channels: {
          namespaces: {
            m: {
              historySize: 100,
              historyTtlMs: 600_000,
              allowRecovery: true,
              allowSubscribeForClient: true,
              allowPublishForSubscriber: true,
            },
          },
        },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  base = server.url;
});
afterAll(async () => {
  await server.close();
});

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw JSON-protocol WebSocket client that records every reply and push. */
class WsClient {
  readonly messages: Array<Record<string, unknown>> = [];
  closeCode: number | undefined;
  #id = 0;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      for (const line of data.toString().split('\n')) if (line !== '') this.messages.push(JSON.parse(line));
    });
    ws.on('close', (code: number) => {
      this.closeCode = code;
    });
  }
  static async open(user: string | undefined): Promise<WsClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const c = new WsClient(ws);
    await c.call({ connect: { token: user === undefined ? 'not-a-jwt' : await token(user) } }).catch(() => undefined);
    return c;
  }
  async call(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    this.ws.send(JSON.stringify({ id, ...command }));
    let reply: Record<string, unknown> | undefined;
    await until(() => {
      reply = this.messages.find((m) => m.id === id);
      return reply !== undefined || this.closeCode !== undefined;
    }, `reply ${id}`);
    if (reply === undefined) throw new Error(`closed with ${this.closeCode}`);
    return reply;
  }
  publications(channel: string): number {
    return this.messages
      .filter((m) => (m.push as { channel?: string; pub?: unknown } | undefined)?.pub !== undefined)
      .filter((m) => (m.push as { channel: string }).channel === channel).length;
  }
}

async function apiPublish(channel: string, data: unknown): Promise<{ offset: number; epoch: string }> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { offset: number; epoch: string } }).result;
}

/** Scrapes /metrics and returns `name{labels}` → value for every sample. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const value = (s: Map<string, number>, key: string) => s.get(key) ?? 0;

describe('health endpoints', () => {
  it('/healthz and /readyz report the engine state, node count and version', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: path === '/healthz' ? 'ok' : 'ready',
        version: server.node.version,
        node: server.node.name,
        engine: { type: 'memory', ready: true },
        nodes: 1,
      });
    }
  });
});

describe('GET /metrics', () => {
  it('refuses a scrape without the metrics token', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('counts exactly what a known load did', async () => {
    const before = await scrape();
    const ws = await Promise.all([WsClient.open('a'), WsClient.open('b'), WsClient.open('c')]);
    for (const c of ws) expect((await c.call({ subscribe: { channel: 'm:load' } })).error).toBeUndefined();
    const sse = await Promise.all(
      [1, 2].map(async () =>
        StreamClient.open(`${base}/connection/sse?channel=m:load&token=${await token('s')}`, 'sse'),
      ),
    );
    for (const s of sse) await s.next((e) => e.event === 'connected');
    const mid = await scrape();
    expect(value(mid, 'tidings_client_connections{transport="websocket",codec="json"}')).toBe(3);
    expect(value(mid, 'tidings_client_subscriptions{transport="websocket",codec="json"}')).toBe(3);
    expect(value(mid, 'tidings_client_connections{transport="sse",codec="json"}')).toBe(2);

    for (let i = 0; i < 10; i++) await apiPublish('m:load', { i });
    for (let i = 0; i < 2; i++)
      expect((await ws[0]!.call({ publish: { channel: 'm:load', data: { c: i } } })).error).toBeUndefined();
    await until(() => ws.every((c) => c.publications('m:load') === 12), 'websocket deliveries');
    for (const s of sse) {
      for (let i = 0; i < 12; i++) await s.next((e) => e.data.type === 'publication');
    }

    // Disconnects: a bad token (3500), a client that leaves (peer), two SSE streams dropped (peer).
    const bad = await WsClient.open(undefined);
    await until(() => bad.closeCode !== undefined, 'bad token close');
    expect(bad.closeCode).toBe(3500);
    ws[2]!.ws.close();
    for (const s of sse) s.close();

    // Recovery: once from a known position (recovered), once from an unknown epoch.
    const top = await apiPublish('m:recover', { r: 1 });
    const r = await WsClient.open('r');
    const ok = await r.call({ subscribe: { channel: 'm:recover', recover: true, offset: 0, epoch: top.epoch } });
    expect((ok.subscribe as { recovered?: boolean }).recovered).toBe(true);
    const lost = await r.call({ subscribe: { channel: 'm:other', recover: true, offset: 3, epoch: 'gone' } });
    expect((lost.subscribe as { recovered?: boolean }).recovered).toBeUndefined();

    const delta = (key: string, after: Map<string, number>) => value(after, key) - value(before, key);
    let after = await scrape();
    await until(async () => {
      after = await scrape();
      return delta('tidings_client_disconnects_total{transport="sse",code="peer"}', after) === 2;
    }, 'SSE disconnects counted');
    expect(delta('tidings_node_publications_total{source="api"}', after)).toBe(11);
    expect(delta('tidings_node_publications_total{source="client"}', after)).toBe(2);
    expect(delta('tidings_transport_deliveries_total{transport="websocket"}', after)).toBe(36);
    expect(delta('tidings_transport_deliveries_total{transport="sse"}', after)).toBe(24);
    expect(delta('tidings_transport_delivery_latency_seconds_count{transport="websocket"}', after)).toBe(36);
    expect(delta('tidings_transport_sent_bytes_total{transport="websocket"}', after)).toBeGreaterThan(0);
    expect(delta('tidings_client_disconnects_total{transport="websocket",code="3500"}', after)).toBe(1);
    expect(delta('tidings_client_disconnects_total{transport="websocket",code="peer"}', after)).toBe(1);
    expect(delta('tidings_client_recoveries_total{result="recovered"}', after)).toBe(1);
    expect(delta('tidings_client_recoveries_total{result="epoch_changed"}', after)).toBe(1);
    expect(delta('tidings_api_requests_total{method="publish",status="200"}', after)).toBe(11);
    expect(value(after, 'tidings_engine_request_duration_seconds_count{op="publish"}')).toBeGreaterThanOrEqual(13);
    expect(value(after, 'tidings_engine_ready')).toBe(1);
    expect(after.has('nodejs_eventloop_lag_seconds')).toBe(true);
    const raw = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
    expect(raw).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(raw).toContain('# TYPE tidings_transport_delivery_latency_seconds histogram');
    for (const c of [ws[0]!, ws[1]!, r]) c.ws.close();
  });

  it('moves the latency histogram when a delay is injected between engine and socket', async () => {
    const clients = await Promise.all([WsClient.open('d1'), WsClient.open('d2')]);
    for (const c of clients) await c.call({ subscribe: { channel: 'm:slow' } });
    const slowKey = (s: Map<string, number>) =>
      value(s, 'tidings_transport_delivery_latency_seconds_count{transport="websocket"}') -
      value(s, 'tidings_transport_delivery_latency_seconds_bucket{le="1",transport="websocket"}');
    const before = await scrape();
    // The in-process engine stores and fans out synchronously; the flush to the sockets runs on a
    // later turn, which this busy wait holds back by 1.2 s.
    const published = server.node.publish('m:slow', new TextEncoder().encode('{"slow":true}'));
    const start = performance.now();
    while (performance.now() - start < 1_200) {
      // blocking on purpose
    }
    await published;
    await until(() => clients.every((c) => c.publications('m:slow') === 1), 'slow deliveries');
    const after = await scrape();
    expect(slowKey(after) - slowKey(before)).toBe(2);
    for (const c of clients) c.ws.close();
  });
});

describe('metrics.port', () => {
  it('serves /metrics on its own listener and not on the main port', async () => {
    const own = await startServer(
      loadConfig({
        base: {
          http: { host: '127.0.0.1', port: 0 },
          metrics: { enabled: true, port: 0 },
          log: { level: 'error' },
        },
      }),
      { logger: silentLogger },
    );
    try {
      expect(own.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${own.metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# TYPE tidings_client_connections gauge');
      expect((await fetch(`${own.metricsUrl}/other`)).status).toBe(404);
      expect((await fetch(`${own.url}/metrics`)).status).toBe(404);
    } finally {
      await own.close();
    }
    await expect(fetch(`${own.metricsUrl}/metrics`)).rejects.toThrow();
  });
});

describe('limit refusals', () => {
  it('counts each refused connect and publish by limit and scope', async () => {
    const own = await startServer(
      loadConfig({
        base: {
          http: { host: '127.0.0.1', port: 0 },
          auth: { keys: [{ alg: 'HS256', secret }] },
          metrics: { enabled: true },
          client: { maxConnectionsPerUser: 1, publishRatePerConnection: 2 },
          channels: { namespaces: { m: { allowPublishForClient: true } } },
          log: { level: 'error' },
        },
      }),
      { logger: silentLogger },
    );
    try {
      const open = async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${own.port}/connection/websocket`);
        const lines: Array<{ id?: number; error?: { code: number } }> = [];
        const closed = new Promise<number>((resolve) => ws.on('close', resolve));
        ws.on('message', (d: Buffer) => {
          for (const l of d.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l));
        });
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        ws.send(JSON.stringify({ id: 1, connect: { token: await token('limited') } }));
        return { ws, lines, closed };
      };
      const first = await open();
      await until(() => first.lines.some((l) => l.id === 1), 'the first connect reply');
      const second = await open();
      expect(await second.closed).toBe(3504);
      const publishes = [2, 3, 4, 5, 6].map((id) => JSON.stringify({ id, publish: { channel: 'm:x', data: { id } } }));
      first.ws.send(publishes.join('\n'));
      await until(() => first.lines.filter((l) => (l.id ?? 0) >= 2).length === 5, 'five publish replies');
      expect(first.lines.filter((l) => l.error?.code === 111)).toHaveLength(3);
      first.ws.close();
      const res = await fetch(`${own.url}/metrics`);
      const text = await res.text();
      expect(text).toContain('tidings_client_limit_refusals_total{limit="connections",scope="user"} 1');
      expect(text).toContain('tidings_client_limit_refusals_total{limit="publish_rate",scope="connection"} 3');
    } finally {
      await own.close();
    }
  });
});
