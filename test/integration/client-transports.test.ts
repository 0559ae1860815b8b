// @tidings/client's HTTP transports against a real in-process `tidings serve`: SSE and NDJSON
// fetch-stream emulation and adaptive polling each receive in order; the client falls back
// WebSocket → SSE → polling when the ones before are refused; a transport switch mid-stream (and
// the move back up) loses and duplicates nothing; a publish whose acknowledgement was lost is
// sent again and stored once (idempotency key).
import {
  fetchStreamTransport,
  lightJsonCodec,
  pollTransport,
  sseTransport,
  TidingsClient,
  type TransportFactory,
  webSocketTransport,
} from '@tidings/client';
import { jsonCodec } from '@tidings/protocol';
import { signToken } from '@tidings/server';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'client-transports-secret-0123456789abcdef0123456789';
const apiKey = 'client-transports-api-key-0123456789';
let server: RunningServer;
let base = '';

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: {
          namespaces: {
            tx: {
              allowSubscribeForClient: true,
              allowPublishForClient: true,
              historySize: 10_000,
              historyTtlMs: 300_000,
              forceRecovery: true,
            },
          },
        },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.close());

/** WebSocket that a test can block (every new socket fails, as behind a proxy killing upgrades) and cut. */
const sockets: WebSocket[] = [];
let wsBlocked = false;
class SwitchableWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(wsBlocked ? url.replace('/connection/websocket', '/no-upgrade-here') : url, protocols);
    sockets.push(this);
  }
}

// WebSocket speaks the client's lightJsonCodec, the HTTP transports @tidings/protocol's jsonCodec:
// each factory brings its codec, so a switch also changes codec.
const ws = (path = '/connection/websocket') =>
  webSocketTransport({
    url: `ws://127.0.0.1:${server.port}${path}`,
    codec: lightJsonCodec,
    WebSocket: SwitchableWebSocket as never,
  });
const sse = (path = '/connection/sse') =>
  sseTransport({ url: `${base}${path}`, emulationUrl: `${base}/emulation`, codec: jsonCodec, EventSource });
const stream = () =>
  fetchStreamTransport({ url: `${base}/connection/http_stream`, emulationUrl: `${base}/emulation`, codec: jsonCodec });
// A quiet channel is advised 30 s between polls; the tests cannot wait that long.
const poll = () => pollTransport({ url: `${base}/connection/poll`, codec: jsonCodec, maxIntervalMs: 200 });

function client(transports: TransportFactory[], extra: { upgradeAfterMs?: number } = {}): TidingsClient {
  return new TidingsClient({
    transports,
    getToken: () => signToken({ sub: 'tx-user' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
    backoff: { minDelayMs: 50, maxDelayMs: 200 },
    ...extra,
  });
}

async function apiPublish(channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  for (let i = 0; i < ms / 25 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond(), what).toBe(true);
}

function follow(c: TidingsClient, channel: string) {
  const sub = c.subscribe(channel);
  const got: number[] = [];
  const offsets: number[] = [];
  sub.on('publication', (p) => {
    got.push((p.data as { n: number }).n);
    offsets.push(p.offset ?? -1);
  });
  return { sub, got, offsets };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe.each([
  ['sse', sse],
  ['http-stream', stream],
  ['poll', poll],
] as const)('@tidings/client over %s against tidings serve', (name, make) => {
  it('receives API publications once, in offset order, and (bidirectional ones) publishes', async () => {
    const c = client([make()]);
    const channel = `tx:only-${name}`;
    const { sub, got, offsets } = follow(c, channel);
    c.connect();
    await until(() => sub.state === 'subscribed', 'subscribed');
    expect(c.transport).toBe(name);
    for (let n = 0; n < 30; n++) await apiPublish(channel, { n });
    await until(() => got.length === 30, '30 received');
    expect(got).toEqual(range(0, 30));
    expect(offsets).toEqual(range(1, 31));
    if (name !== 'poll') {
      await c.publish(channel, { n: 30 });
      await until(() => got.length === 31, 'own publish received');
    } else {
      // Polling is receive only: the publish waits in the outbox for a bidirectional transport.
      const p = c.publish(channel, { n: 30 });
      let settled = false;
      p.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
    }
    c.disconnect();
  }, 60_000);
});

describe('@tidings/client fallback and transport switches', () => {
  it('falls back WebSocket → SSE → polling when the server refuses the ones before, and still receives', async () => {
    const c = client([ws('/refused-websocket'), sse('/refused-sse'), poll()]);
    const tried: string[] = [];
    c.on('state', (e) => e.state === 'connecting' && tried.push(e.transport));
    const channel = 'tx:fallback';
    const { sub, got } = follow(c, channel);
    c.connect();
    await until(() => sub.state === 'subscribed', 'subscribed');
    expect(tried).toEqual(['websocket-json', 'sse', 'poll']);
    for (let n = 0; n < 10; n++) await apiPublish(channel, { n });
    await until(() => got.length === 10, '10 over polling');
    expect(got).toEqual(range(0, 10));
    c.disconnect();
  }, 60_000);

  it('switches WebSocket → SSE mid-stream (upgrades blocked) and back up, losing and duplicating nothing', async () => {
    wsBlocked = false;
    const c = client([ws(), sse()], { upgradeAfterMs: 1500 });
    const used: string[] = [];
    c.on('state', (e) => e.state === 'connected' && used.push(e.transport));
    const channel = 'tx:switch';
    const { sub, got, offsets } = follow(c, channel);
    c.connect();
    await until(() => sub.state === 'subscribed', 'subscribed');
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await apiPublish(channel, { n: n++ });
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(() => got.length >= 20, 'flowing over WebSocket');
    // The network starts killing upgrades, and the open socket dies.
    wsBlocked = true;
    sockets.at(-1)?.terminate();
    await until(() => c.transport === 'sse' && c.state === 'connected', 'on SSE');
    const onSse = got.length;
    await until(() => got.length >= onSse + 20, 'flowing over SSE');
    // Upgrades work again: after upgradeAfterMs the client moves back to WebSocket.
    wsBlocked = false;
    await until(() => used.at(-1) === 'websocket-json' && used.length >= 3, 'back on WebSocket');
    const back = got.length;
    await until(() => got.length >= back + 20, 'flowing over WebSocket again');
    publishing = false;
    await publisher;
    await until(() => got.length === n, 'every publication');
    expect(used.slice(0, 3)).toEqual(['websocket-json', 'sse', 'websocket-json']);
    expect(got).toEqual(range(0, n));
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe((offsets[i - 1] ?? 0) + 1);
    c.disconnect();
  }, 90_000);

  it('a publish whose acknowledgement was lost is sent again with its key and stored once', async () => {
    const channel = 'tx:exactly-once';
    const reader = client([ws()]);
    const { sub, got } = follow(reader, channel);
    reader.connect();
    await until(() => sub.state === 'subscribed', 'reader subscribed');
    // The writer's first socket swallows the publish acknowledgement and dies, as a network
    // dropping after the server stored the publish would.
    let swallowed = 0;
    class AckLosingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        const me = this;
        const original = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage');
        Object.defineProperty(this, 'onmessage', {
          set(fn: (ev: { data: unknown }) => void) {
            original?.set?.call(me, (ev: { data: unknown }) => {
              if (swallowed === 0 && String(ev.data).includes('"publish":{}')) {
                swallowed++;
                me.terminate();
                return;
              }
              fn(ev);
            });
          },
          get: () => original?.get?.call(me),
        });
      }
    }
    const writer = new TidingsClient({
      transports: [
        webSocketTransport({
          url: `ws://127.0.0.1:${server.port}/connection/websocket`,
          codec: jsonCodec,
          WebSocket: AckLosingWebSocket as never,
        }),
      ],
      getToken: () => signToken({ sub: 'writer' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
      backoff: { minDelayMs: 50, maxDelayMs: 200 },
    });
    writer.connect();
    await writer.publish(channel, { n: 1 });
    await writer.publish(channel, { n: 2 });
    expect(swallowed).toBe(1);
    await until(() => got.length >= 2, 'delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([1, 2]);
    const res = await fetch(`${base}/api/history`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ channel, limit: 10 }),
    });
    const body = (await res.json()) as { result: { publications: unknown[] } };
    expect(body.result.publications).toHaveLength(2);
    reader.disconnect();
    writer.disconnect();
  }, 60_000);
});
