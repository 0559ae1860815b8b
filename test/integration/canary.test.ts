// The canary probe of a real server: it publishes into its reserved channel and measures its own
// delivery through the hub, WebSocket, SSE and NDJSON streams. Its metrics must move; a broken
// delivery path (the canary's connections cut by the server API) must show as failures, then
// recover; and no client or API call may publish into the reserved namespace.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { createLogger } from '../../apps/tidings/src/logger.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const apiKey = 'canary-api-key-0123456789';
const transports = ['hub', 'websocket', 'sse', 'http_stream'] as const;
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        api: { keys: [apiKey] },
        client: { allowAnonymous: true },
        metrics: { enabled: true, defaultMetrics: false },
        canary: { enabled: true, intervalMs: 250, timeoutMs: 250 },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server?.close();
});

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const delivered = (s: Map<string, number>, t: string) =>
  s.get(`tidings_canary_latency_seconds_count{transport="${t}"}`) ?? 0;
const failed = (s: Map<string, number>, t: string) =>
  ['disconnected', 'publish', 'timeout']
    .map((reason) => s.get(`tidings_canary_failures_total{transport="${t}",reason="${reason}"}`) ?? 0)
    .reduce((a, b) => a + b, 0);

async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function api(method: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('canary probe', () => {
  it('measures delivery through the hub, WebSocket, SSE and NDJSON', async () => {
    const started = Date.now() / 1000;
    const first = await scrape();
    await until(async () => {
      const s = await scrape();
      return transports.every((t) => delivered(s, t) >= delivered(first, t) + 3);
    }, 'three canary deliveries on every transport');
    const s = await scrape();
    for (const t of transports) {
      expect(s.get(`tidings_canary_last_success_timestamp_seconds{transport="${t}"}`)).toBeGreaterThanOrEqual(
        Math.floor(started) - 1,
      );
      expect(s.get(`tidings_canary_latency_seconds_sum{transport="${t}"}`)).toBeGreaterThan(0);
      expect(s.get(`tidings_canary_rounds_total{transport="${t}"}`)).toBeGreaterThanOrEqual(3);
    }
    // Canary publications are counted apart from the application's.
    expect(s.get('tidings_node_publications_total{source="canary"}')).toBeGreaterThanOrEqual(3);
    expect(s.get('tidings_node_publications_total{source="api"}')).toBeUndefined();
  });

  it('shows a broken delivery path as failures, then recovers', async () => {
    const before = await scrape();
    // Cut every canary connection (hub session, WebSocket, SSE, NDJSON) from the server side.
    const cut = await api('disconnect', { user: '$tidings-canary' });
    expect(cut.status).toBe(200);
    await until(async () => {
      const s = await scrape();
      return transports.every((t) => failed(s, t) > failed(before, t));
    }, 'a canary failure on every transport');
    const broken = await scrape();
    await until(async () => {
      const s = await scrape();
      return transports.every((t) => delivered(s, t) >= delivered(broken, t) + 2);
    }, 'canary deliveries again after reconnecting');
  });

  it('keeps the reserved namespace closed to the API and to clients', async () => {
    const channel = '$tidings:canary.someone';
    const published = await api('publish', { channel, data: { canary: 'x', seq: 1 } });
    expect(published.json.error).toMatchObject({ code: 103 });
    const nodes = await api('publish', { channel: '$tidings:nodes', data: {} });
    expect(nodes.json.error).toMatchObject({ code: 102 });

    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    const replies: Array<Record<string, unknown>> = [];
    ws.on('message', (raw: Buffer) => {
      for (const line of raw.toString().split('\n')) if (line !== '') replies.push(JSON.parse(line));
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ id: 1, connect: {} }));
    ws.send(JSON.stringify({ id: 2, subscribe: { channel } }));
    ws.send(JSON.stringify({ id: 3, publish: { channel, data: { canary: 'x', seq: 1 } } }));
    await until(async () => replies.filter((r) => r.id !== undefined).length >= 3, 'three replies');
    ws.close();
    expect(replies.find((r) => r.id === 1)?.connect).toBeDefined();
    expect(replies.find((r) => r.id === 2)?.error).toMatchObject({ code: 103 });
    expect(replies.find((r) => r.id === 3)?.error).toMatchObject({ code: 103 });
  });
});

describe('canary secret', () => {
  it('never reaches the log, even at debug level with connections cut', async () => {
    const canarySecret = 'canary-secret-known-to-this-test-0123456789';
    let output = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const config = loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        api: { keys: [apiKey] },
        metrics: { enabled: true, defaultMetrics: false },
        canary: { enabled: true, intervalMs: 200, timeoutMs: 200 },
        log: { level: 'debug', pretty: false },
      },
    });
    const logged = await startServer(config, { logger: createLogger(config.log, stream, false), canarySecret });
    try {
      await until(async () => output.includes('client connected'), 'canary connections logged');
      await fetch(`${logged.url}/api/disconnect`, {
        method: 'POST',
        headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: '$tidings-canary' }),
      });
      await until(async () => output.includes('canary delivery recovered'), 'the canary reconnected');
    } finally {
      await logged.close();
    }
    expect(output).toContain('$tidings-canary');
    expect(output).not.toContain(canarySecret);
  });
});
