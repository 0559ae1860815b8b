// The public `centrifuge` SDK falling back to bidirectional emulation when its WebSocket is
// refused: http_stream (JSON and Protobuf) and sse (JSON; the SDK's sse transport is JSON only)
// against a real server. Connect, subscribe, receive an API publication, publish from the client,
// answer pings over the emulation endpoint, and recover missed publications after a reconnect.
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { EventSource } from 'eventsource';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'integration-secret-0123456789abcdef';
const apiKey = 'integration-api-key-0123456789';

const chat = {
  historySize: 200,
  historyTtlMs: 300_000,
  allowRecovery: true,
  allowSubscribeForClient: true,
  allowPublishForSubscriber: true,
};

async function start(): Promise<RunningServer> {
  const config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      websocket: { allowedOrigins: ['https://app.example'] },
      // Short pings so a test sees several ping/pong rounds go through the emulation endpoint.
      client: { pingIntervalMs: 1_000, pongTimeoutMs: 800 },
      channels: { namespaces: { chat } },
      log: { level: 'error' },
    },
  });
  return startServer(config, { logger: silentLogger });
}

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 3600 });

async function apiPublish(base: string, channel: string, data: unknown) {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { offset: number; epoch: string } }).result;
}

function waitFor<T>(emitter: { once(event: string, fn: (ctx: T) => void): unknown }, event: string, ms = 5000) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (ctx: T) => {
      clearTimeout(timer);
      resolve(ctx);
    });
  });
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Sdk = typeof Centrifuge;
const flavours: Array<[string, 'http_stream' | 'sse', Sdk]> = [
  ['http_stream, json', 'http_stream', Centrifuge],
  ['http_stream, protobuf', 'http_stream', CentrifugeProtobuf as unknown as Sdk],
  ['sse, json', 'sse', Centrifuge],
];

let server: RunningServer;
let base: string;
beforeAll(async () => {
  server = await start();
  base = server.url;
});
afterAll(async () => {
  await server.close();
});

describe.each(flavours)('centrifuge SDK over emulation (%s)', (name, transport, Sdk) => {
  const binary = name.endsWith('protobuf');
  const out = (value: unknown): unknown => (binary ? new TextEncoder().encode(JSON.stringify(value)) : value);
  const inn = (data: unknown): unknown => (binary ? JSON.parse(new TextDecoder().decode(data as Uint8Array)) : data);
  const clients: Centrifuge[] = [];

  const client = async (user: string) => {
    const endpoint = transport === 'http_stream' ? '/connection/http_stream' : '/connection/sse';
    const c = new Sdk(
      [
        // The WebSocket endpoint refuses every upgrade (404), as a network that blocks WebSockets.
        { transport: 'websocket', endpoint: `ws://127.0.0.1:${server.port}/connection/blocked` },
        { transport, endpoint: `${base}${endpoint}` },
      ],
      {
        websocket: WebSocket,
        fetch: globalThis.fetch,
        readableStream: globalThis.ReadableStream,
        eventsource: EventSource,
        emulationEndpoint: `${base}/emulation`,
        token: await token(user),
        minReconnectDelay: 50,
        maxReconnectDelay: 300,
      },
    );
    clients.push(c);
    return c;
  };

  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });

  it('falls back from the refused WebSocket, subscribes, receives an API publication and publishes', async () => {
    const c = await client('alice');
    const connected = waitFor<{ client: string; transport: string }>(c, 'connected');
    c.connect();
    const ctx = await connected;
    expect(ctx.transport).toBe(transport);
    const channel = `chat:basic-${transport}-${binary}`;
    const sub = c.newSubscription(channel);
    sub.subscribe();
    await sub.ready(5000);

    const received: unknown[] = [];
    sub.on('publication', (p) => received.push(inn(p.data)));
    await apiPublish(base, channel, { from: 'api' });
    await until(() => received.length === 1);
    await sub.publish(out({ from: 'client' }));
    await until(() => received.length === 2);
    expect(received).toEqual([{ from: 'api' }, { from: 'client' }]);
  });

  it('answers server pings over the emulation endpoint and stays connected', async () => {
    const c = await client('bob');
    const disconnects: unknown[] = [];
    c.on('disconnected', (d) => disconnects.push(d));
    c.on('connecting', (d) => disconnects.push(d));
    c.connect();
    await waitFor(c, 'connected');
    disconnects.length = 0;
    // Three ping intervals: a missing pong would close the session with 3012 after 0.8 s.
    await new Promise((r) => setTimeout(r, 3_200));
    expect(disconnects).toEqual([]);
    expect(c.state).toBe('connected');
  });

  it('recovers exactly the publications missed while disconnected (recovered: true)', async () => {
    const channel = `chat:recover-${transport}-${binary}`;
    const ledger = createLedger();
    const c = await client('carol');
    const sub = c.newSubscription(channel, { recoverable: true });
    ledger.subscribed('carol', channel);
    let epoch = '';
    const subscribed: Array<{ wasRecovering: boolean; recovered: boolean }> = [];
    sub.on('subscribed', (ctx) => {
      subscribed.push({ wasRecovering: ctx.wasRecovering, recovered: ctx.recovered });
      epoch = ctx.streamPosition?.epoch ?? epoch;
    });
    sub.on('publication', (ctx) => {
      const data = inn(ctx.data) as { id: string };
      ledger.received('carol', channel, { offset: ctx.offset ?? -1, epoch, id: data.id });
    });
    c.connect();
    sub.subscribe();
    await sub.ready(5000);
    const publish = async (id: string) => {
      const ack = await apiPublish(base, channel, { id });
      ledger.acked(channel, { offset: ack.offset, epoch: ack.epoch, id });
    };
    for (let i = 0; i < 5; i++) await publish(`before-${i}`);
    await until(() => ledger.check().perSubscriber.carol?.received === 5);

    c.disconnect();
    for (let i = 0; i < 20; i++) await publish(`missed-${i}`);
    const reconnected = waitFor<{ transport: string }>(c, 'connected');
    c.connect();
    expect((await reconnected).transport).toBe(transport);
    await until(() => subscribed.length === 2);
    await until(() => (ledger.check().perSubscriber.carol?.received ?? 0) >= 25);
    expect(subscribed[1]).toEqual({ wasRecovering: true, recovered: true });

    const report = ledger.check({ expectAll: true });
    expect(report.lost, formatLedgerReport(report)).toBe(0);
    expect(report.duplicated, formatLedgerReport(report)).toBe(0);
    expect(report.reordered, formatLedgerReport(report)).toBe(0);
    expect(report.silentGaps, formatLedgerReport(report)).toBe(0);
  });
});

/** Opens a raw http_stream session with fetch and reads its connect reply. */
async function openStream(user: string) {
  const abort = new AbortController();
  const res = await fetch(`${base}/connection/http_stream`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: 1, connect: { token: await token(user) } }),
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const reply = JSON.parse(text.slice(0, text.indexOf('\n'))) as {
    connect: { client: string; session: string; node: string };
  };
  return { connect: reply.connect, close: () => abort.abort() };
}

const emulate = (body: string | Uint8Array, contentType = 'application/json') =>
  fetch(`${base}/emulation`, { method: 'POST', headers: { 'Content-Type': contentType }, body });

describe('emulation endpoint', () => {
  it('puts a secret session id, distinct from the client id, and the node id in the connect result', async () => {
    const stream = await openStream('dave');
    try {
      expect(stream.connect.session).toMatch(/^[0-9a-f-]{36}$/);
      expect(stream.connect.session).not.toBe(stream.connect.client);
      expect(stream.connect.node).toBe(server.node.id);
      const ok = await emulate(
        JSON.stringify({ node: stream.connect.node, session: stream.connect.session, data: '{}' }),
      );
      expect(ok.status).toBe(204);
    } finally {
      stream.close();
    }
  });

  it('answers 404 with a JSON error for an unknown session and for another node', async () => {
    const stream = await openStream('erin');
    try {
      const unknown = await emulate(JSON.stringify({ node: server.node.id, session: 'nope', data: '{}' }));
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/no such session/);
      const foreign = await emulate(
        JSON.stringify({ node: 'another-node', session: stream.connect.session, data: '{}' }),
      );
      expect(foreign.status).toBe(404);
      expect(((await foreign.json()) as { error: { message: string } }).error.message).toMatch(/another node/);
    } finally {
      stream.close();
    }
  });

  it('refuses malformed and oversize bodies and other methods', async () => {
    const bad = await emulate('{"session": 1');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(107);
    const badProto = await emulate(new Uint8Array([0x12, 0x7f]), 'application/octet-stream');
    expect(badProto.status).toBe(400);
    const big = await emulate(JSON.stringify({ node: 'n', session: 's', data: 'x'.repeat(70_000) }));
    expect(big.status).toBe(413);
    const get = await fetch(`${base}/emulation`);
    expect(get.status).toBe(405);
    const getStream = await fetch(`${base}/connection/http_stream`);
    expect(getStream.status).toBe(405);
  });

  it('refuses foreign browser origins with 403 and answers the preflight of an allowed one', async () => {
    const evil = { Origin: 'https://evil.example', 'Content-Type': 'application/json' };
    const body = JSON.stringify({ id: 1, connect: { token: await token('gina') } });
    const stream = await fetch(`${base}/connection/http_stream`, { method: 'POST', headers: evil, body });
    expect(stream.status).toBe(403);
    const post = await fetch(`${base}/emulation`, { method: 'POST', headers: evil, body: '{}' });
    expect(post.status).toBe(403);
    const sse = await fetch(`${base}/connection/sse?cf_connect=${encodeURIComponent(body)}`, { headers: evil });
    expect(sse.status).toBe(403);

    const preflight = await fetch(`${base}/emulation`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/content-type/i);
    const allowed = await fetch(`${base}/emulation`, {
      method: 'POST',
      headers: { Origin: 'https://app.example', 'Content-Type': 'application/json' },
      body: JSON.stringify({ node: server.node.id, session: 'none', data: '{}' }),
    });
    expect(allowed.status).toBe(404);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('leaves /connection/sse without cf_connect to the one-way SSE endpoint', async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/connection/sse?channel=chat:oneway&token=${await token('frank')}`, {
      signal: abort.signal,
    });
    try {
      expect(res.status).toBe(200);
      const { value } = await res.body!.getReader().read();
      expect(new TextDecoder().decode(value)).toMatch(/event: connected/);
    } finally {
      abort.abort();
    }
  });

  it('ends the stream of a client that stops reading with a 3008 disconnect (slow consumer)', async () => {
    const { request } = await import('node:http');
    const t = await token('slow');
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(`${base}/connection/http_stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      req.on('response', resolve);
      req.on('error', reject);
      req.end(JSON.stringify({ id: 1, connect: { token: t } }));
    });
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    await until(() => text.includes('\n'));
    const { session, node } = (
      JSON.parse(text.slice(0, text.indexOf('\n'))) as { connect: { session: string; node: string } }
    ).connect;
    const sub = await emulate(
      JSON.stringify({ node, session, data: JSON.stringify({ id: 2, subscribe: { channel: 'chat:slow' } }) }),
    );
    expect(sub.status).toBe(204);
    await until(() => text.includes('"id":2'));
    res.pause();
    const payload = 'x'.repeat(64 * 1024);
    const before = server.node.info().numClients;
    for (let i = 0; i < 200 && server.node.info().numClients === before; i++)
      await apiPublish(base, 'chat:slow', { payload });
    expect(server.node.info().numClients).toBe(before - 1);
    res.resume();
    await new Promise((r) => res.once('end', r));
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/"disconnect":\{"code":3008/);
  });
});
