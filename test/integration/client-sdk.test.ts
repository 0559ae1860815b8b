// @tidings/client against a real in-process `tidings serve`: subscribe and receive, a dropped
// connection while publications continue (every one once, in offset order), a burst right after
// the recovered resubscribe, and the outbox (publishes made while offline sent once, in order).
import { TidingsClient, webSocketTransport } from '@tidings/client';
import { type ClientCodec, jsonCodec, protobufCodec } from '@tidings/protocol';
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'client-sdk-secret-0123456789abcdef0123456789';
const apiKey = 'client-sdk-api-key-0123456789';
let server: RunningServer;
const sockets: WebSocket[] = [];

/** `ws` with every instance recorded, so a test can cut the connection as a network would. */
class RecordingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    sockets.push(this);
  }
}

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: {
          namespaces: {
            sdk: {
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
});
afterAll(() => server.close());

function client(minDelayMs = 50, codec: ClientCodec = jsonCodec): TidingsClient {
  return new TidingsClient({
    codec,
    transports: [
      webSocketTransport({
        url: `ws://127.0.0.1:${server.port}/connection/websocket`,
        codec,
        WebSocket: RecordingWebSocket as never,
      }),
    ],
    getToken: () => signToken({ sub: 'u1' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
    backoff: { minDelayMs, maxDelayMs: minDelayMs * 4 },
    // The top of the jitter range, so the client stays away while publications continue.
    random: () => 0.99,
  });
}

async function apiPublish(channel: string, data: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(cond(), what).toBe(true);
}

describe.each([jsonCodec, protobufCodec])('@tidings/client over WebSocket ($name) against tidings serve', (codec) => {
  it('receives every publication once, in order, across a cut connection and a burst after recovery', async () => {
    const c = client(1500, codec);
    const sub = c.subscribe(`sdk:order-${codec.name}`);
    const got: number[] = [];
    const offsets: number[] = [];
    sub.on('publication', (p) => {
      got.push((p.data as { n: number }).n);
      offsets.push(p.offset ?? -1);
    });
    c.connect();
    await until(() => sub.state === 'subscribed', 'subscribed');
    for (let n = 0; n < 20; n++) await apiPublish(`sdk:order-${codec.name}`, { n });
    await until(() => got.length === 20, 'first 20');
    const first = sockets.at(-1);
    first?.terminate();
    await until(() => c.state === 'disconnected', 'disconnected');
    // Publications continue while the client is away.
    for (let n = 20; n < 60; n++) await apiPublish(`sdk:order-${codec.name}`, { n });
    expect(got.length).toBe(20);
    await until(() => sub.state === 'subscribed' && sockets.at(-1) !== first, 'resubscribed');
    // A burst right after the recovered resubscribe.
    await Promise.all(Array.from({ length: 200 }, (_, i) => apiPublish(`sdk:order-${codec.name}`, { n: 60 + i })));
    await until(() => got.length >= 260, 'all 260');
    const sorted = [...got].sort((a, b) => a - b);
    expect(new Set(got).size).toBe(260);
    expect(sorted).toEqual(Array.from({ length: 260 }, (_, i) => i));
    // The first 60 were published sequentially, so the application saw them in that order.
    expect(got.slice(0, 60)).toEqual(sorted.slice(0, 60));
    // Delivery is strictly in offset order, one step at a time, through the recovery and the burst.
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe((offsets[i - 1] ?? 0) + 1);
    c.disconnect();
  }, 120_000);

  it('sends publishes made while offline once each, in order, when connected', async () => {
    const reader = client(50, codec);
    const sub = reader.subscribe(`sdk:outbox-${codec.name}`);
    const got: number[] = [];
    sub.on('publication', (p) => got.push((p.data as { n: number }).n));
    reader.connect();
    await until(() => sub.state === 'subscribed', 'reader subscribed');

    const writer = client(50, codec);
    const acks = Array.from({ length: 10 }, (_, n) => writer.publish(`sdk:outbox-${codec.name}`, { n }));
    expect(writer.state).toBe('disconnected');
    writer.connect();
    await Promise.all(acks);
    await until(() => got.length === 10, '10 delivered');
    expect(got).toEqual(Array.from({ length: 10 }, (_, n) => n));
    reader.disconnect();
    writer.disconnect();
  });
});

describe('@tidings/client token refresh against tidings serve', () => {
  it('refreshes a 3 s connection token before it expires, on the same connection', async () => {
    let calls = 0;
    const c = new TidingsClient({
      codec: jsonCodec,
      transports: [
        webSocketTransport({
          url: `ws://127.0.0.1:${server.port}/connection/websocket`,
          codec: jsonCodec,
          WebSocket: RecordingWebSocket as never,
        }),
      ],
      getToken: () => {
        calls++;
        return signToken({ sub: 'u2' }, { alg: 'HS256', secret }, { expiresInSec: 3 });
      },
    });
    c.connect();
    await until(() => c.state === 'connected', 'connected');
    const socket = sockets.at(-1);
    await until(() => calls >= 3, 'refreshed twice');
    expect(c.state).toBe('connected');
    expect(sockets.at(-1)).toBe(socket);
    c.disconnect();
  });
});
