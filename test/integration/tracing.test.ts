// OpenTelemetry tracing of a real server against a small OTLP/HTTP (JSON) receiver in the test:
// an API publish carrying a `traceparent` must produce the spans API request → engine publish →
// fan-out, each the child of the one before, in the trace the caller started; a backend proxy
// call gets a CLIENT span and the backend receives its `traceparent`.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: number | string } }>;
}

const apiKey = 'tracing-api-key-0123456789';
const spans: OtlpSpan[] = [];
const resources: unknown[] = [];
const backendTraceparents: string[] = [];
let receiver: Server;
let backend: Server;
let server: RunningServer;

const portOf = (s: Server) => (s.address() as { port: number }).port;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      expect(req.url).toBe('/v1/traces');
      expect(req.headers['content-type']).toContain('application/json');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const rs of body.resourceSpans) {
        resources.push(rs.resource);
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  backend = createServer((req, res) => {
    backendTraceparents.push(String(req.headers.traceparent ?? ''));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { user: 'proxied-user' } }));
    });
  });
  receiver.listen(0, '127.0.0.1');
  backend.listen(0, '127.0.0.1');
  await Promise.all([once(receiver, 'listening'), once(backend, 'listening')]);
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        api: { keys: [apiKey] },
        client: { allowAnonymous: true },
        proxy: { connect: { url: `http://127.0.0.1:${portOf(backend)}/connect` } },
        channels: { namespaces: { t: { allowSubscribeForClient: true } } },
        tracing: { otlpEndpoint: `http://127.0.0.1:${portOf(receiver)}/v1/traces`, serviceName: 'tidings-test' },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger, env: {}, nodeName: 'traced-node' },
  );
});
afterAll(async () => {
  await server?.close();
  receiver?.close();
  backend?.close();
});

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
};

async function subscriber(channel: string): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
  const messages: string[] = [];
  ws.on('message', (raw: Buffer) => messages.push(raw.toString()));
  await once(ws, 'open');
  ws.send(JSON.stringify({ id: 1, connect: {} }));
  ws.send(JSON.stringify({ id: 2, subscribe: { channel } }));
  await until(() => messages.some((m) => m.includes('"id":2')), 'subscribe reply');
  return { ws, messages };
}

async function publish(channel: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${server.url}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ channel, data: { hello: 'trace' } }),
  });
  expect(res.status).toBe(200);
}

describe('OpenTelemetry tracing', () => {
  it('continues the traceparent of an API publish through engine publish and fan-out', async () => {
    const { ws, messages } = await subscriber('t:room');
    // The anonymous connect went to the connect proxy: one CLIENT span, its traceparent sent along.
    expect(backendTraceparents).toHaveLength(1);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    await publish('t:room', { traceparent: `00-${traceId}-${callerSpan}-01` });
    await until(() => messages.some((m) => m.includes('"hello":"trace"')), 'the publication');
    ws.close();

    await until(() => spans.some((s) => s.name === 'tidings.fanout' && s.traceId === traceId), 'exported spans');
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const apiSpan = inTrace.find((s) => s.name === 'POST /api/publish');
    const engineSpan = inTrace.find((s) => s.name === 'tidings.engine.publish');
    const fanout = inTrace.find((s) => s.name === 'tidings.fanout');
    expect(apiSpan).toBeDefined();
    expect(engineSpan).toBeDefined();
    expect(fanout).toBeDefined();
    if (apiSpan === undefined || engineSpan === undefined || fanout === undefined) return;
    expect(apiSpan.parentSpanId).toBe(callerSpan);
    expect(apiSpan.kind).toBe(2); // SERVER
    expect(attr(apiSpan, 'http.response.status_code')).toBe(200);
    expect(engineSpan.parentSpanId).toBe(apiSpan.spanId);
    expect(attr(engineSpan, 'messaging.destination.name')).toBe('t:room');
    expect(attr(engineSpan, 'tidings.source')).toBe('api');
    expect(fanout.parentSpanId).toBe(engineSpan.spanId);
    expect(attr(fanout, 'tidings.offset')).toBeGreaterThanOrEqual(0);
    expect(inTrace).toHaveLength(3);
    expect(JSON.stringify(resources)).toContain('tidings-test');
    expect(JSON.stringify(resources)).toContain('traced-node');

    const proxySpan = spans.find((s) => s.kind === 3 && attr(s, 'url.full')?.toString().endsWith('/connect'));
    expect(proxySpan).toBeDefined();
    expect(backendTraceparents[0]).toBe(`00-${proxySpan?.traceId}-${proxySpan?.spanId}-01`);
    expect(attr(proxySpan as OtlpSpan, 'http.response.status_code')).toBe(200);
  });

  it('starts a new trace for an API request without traceparent, and honours an unsampled one', async () => {
    const before = new Set(spans.map((s) => s.spanId));
    await publish('t:other');
    const unsampled = '0af7651916cd43dd8448eb211c80319c';
    await publish('t:other', { traceparent: `00-${unsampled}-b7ad6b7169203331-00` });
    await until(
      () => spans.some((s) => !before.has(s.spanId) && s.name === 'tidings.engine.publish'),
      'spans of the second publish',
    );
    const fresh = spans.filter((s) => !before.has(s.spanId));
    const apiSpan = fresh.find((s) => s.name === 'POST /api/publish');
    expect(apiSpan?.parentSpanId ?? '').toBe('');
    expect(fresh.find((s) => s.name === 'tidings.engine.publish')?.traceId).toBe(apiSpan?.traceId);
    // No subscriber on t:other: no fan-out span. An unsampled caller: no span at all.
    expect(fresh.some((s) => s.name === 'tidings.fanout')).toBe(false);
    expect(spans.some((s) => s.traceId === unsampled)).toBe(false);
  });

  it('continues the traceparent of a Connect call through engine publish', async () => {
    const traceId = '11112222333344445555666677778888';
    const callerSpan = 'aaaabbbbccccdddd';
    const res = await fetch(`${server.url}/tidings.api.v1.ApiService/Publish`, {
      method: 'POST',
      headers: {
        'x-api-key': apiKey,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
      body: JSON.stringify({ channel: 't:rpc', data: Buffer.from('{"via":"connect"}').toString('base64') }),
    });
    expect(res.status).toBe(200);
    await res.text();
    await until(() => spans.some((s) => s.traceId === traceId && s.name === 'tidings.engine.publish'), 'rpc spans');
    const rpc = spans.find((s) => s.traceId === traceId && s.name === 'tidings.api.v1.ApiService/Publish');
    const engine = spans.find((s) => s.traceId === traceId && s.name === 'tidings.engine.publish');
    expect(rpc?.parentSpanId).toBe(callerSpan);
    expect(rpc?.kind).toBe(2);
    expect(rpc === undefined ? undefined : attr(rpc, 'rpc.system')).toBe('connect_rpc');
    expect(rpc === undefined ? undefined : attr(rpc, 'rpc.method')).toBe('Publish');
    expect(engine?.parentSpanId).toBe(rpc?.spanId);
  });
});
