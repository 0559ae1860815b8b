// Error paths over real WebSockets with a raw `ws` client: every bad token kind, malformed frames
// in both codecs, an oversize frame, a browser origin outside the allow-list, a slow consumer
// that stops reading (3008, server memory bounded) and a peer that never answers pings (3012).
import { generateKeyPairSync } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'ws-errors-secret-0123456789abcdef!!';
const apiKey = 'ws-errors-api-key-0123456789';
let server: RunningServer;
let url: string;

async function start(client: object): Promise<RunningServer> {
  return startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        client,
        websocket: { maxFrameBytes: 4096, allowedOrigins: ['https://app.example.com'] },
        channels: { namespaces: { feed: { allowSubscribeForClient: true } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
}

beforeAll(async () => {
  server = await start({ pingIntervalMs: 1_000, pongTimeoutMs: 500, maxQueueBytes: 256 * 1024 });
  url = `ws://127.0.0.1:${server.port}/connection/websocket`;
});
afterAll(async () => {
  await server.close();
});

interface Closed {
  code: number;
  reason: string;
  messages: string[];
}

/** Open a raw client, send `frames` after open, resolve with the close code and what arrived. */
function session(
  frames: Array<string | Uint8Array>,
  options: { protocol?: string; origin?: string; answerPings?: boolean } = {},
) {
  return new Promise<Closed>((resolve, reject) => {
    const ws = new WebSocket(
      url,
      options.protocol ? [options.protocol] : [],
      options.origin ? { origin: options.origin } : {},
    );
    const messages: string[] = [];
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
      messages.push(text);
      if (options.answerPings && text === '{}') ws.send('{}');
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), messages }));
    ws.on('unexpected-response', (_req, res) => resolve({ code: res.statusCode ?? 0, reason: 'http', messages }));
    ws.on('error', (e) => {
      if (!String(e).includes('Unexpected server response')) reject(e);
    });
  });
}

const hs = (claims: Record<string, unknown>, ttl = 60) =>
  signToken(claims, { alg: 'HS256', secret }, { expiresInSec: ttl });
const b64url = (s: string) => Buffer.from(s).toString('base64url');
const connectFrame = (token: string) => JSON.stringify({ id: 1, connect: { token } });

describe('bad tokens', () => {
  it('expired token: reply error 109 and the connection stays for a retry', async () => {
    const expired = await hs({ sub: 'u', exp: Math.floor(Date.now() / 1000) - 120 }, -120);
    const ws = new WebSocket(url);
    const reply = await new Promise<string>((resolve) => {
      ws.on('open', () => ws.send(connectFrame(expired)));
      ws.on('message', (d) => resolve(d.toString()));
    });
    expect(JSON.parse(reply)).toMatchObject({ id: 1, error: { code: 109 } });
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('bad signature: 3500 invalid token', async () => {
    const good = await hs({ sub: 'u' });
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${b64url('not-the-signature')}`;
    expect(await session([connectFrame(forged)])).toMatchObject({ code: 3500, reason: 'invalid token' });
  });

  it('alg none: 3500', async () => {
    const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify({ sub: 'u', exp: Math.floor(Date.now() / 1000) + 60 }))}.`;
    expect((await session([connectFrame(none)])).code).toBe(3500);
  });

  it('wrong algorithm (RS256 token for an HS256 key): 3500', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rs = await signToken({ sub: 'u' }, { alg: 'RS256', privateKey: pem }, { expiresInSec: 60 });
    expect((await session([connectFrame(rs)])).code).toBe(3500);
  });

  it('no token when anonymous access is off: 3500', async () => {
    expect((await session([JSON.stringify({ id: 1, connect: {} })])).code).toBe(3500);
  });
});

describe('malformed input', () => {
  it('malformed JSON frame: 3501 bad request', async () => {
    expect(await session(['{"id":1,"connect":'])).toMatchObject({ code: 3501, reason: 'bad request' });
  });

  it('malformed Protobuf frame: 3501', async () => {
    // varint length 100 but only 3 bytes follow
    const res = await session([new Uint8Array([100, 1, 2, 3])], { protocol: 'centrifuge-protobuf' });
    expect(res.code).toBe(3501);
  });

  it('a command before connect: 3501', async () => {
    expect((await session(['{"id":1,"subscribe":{"channel":"feed:a"}}'])).code).toBe(3501);
  });

  it('oversize frame: closed by the WebSocket layer with 1009', async () => {
    expect((await session([`{"id":1,"connect":{"token":"${'x'.repeat(10_000)}"}}`])).code).toBe(1009);
  });

  it('browser origin outside the allow-list: 403 before any WebSocket', async () => {
    expect((await session([], { origin: 'https://evil.example' })).code).toBe(403);
  });

  it('allowed origin connects', async () => {
    const token = await hs({ sub: 'u' });
    const ws = new WebSocket(url, { origin: 'https://app.example.com' });
    const reply = await new Promise<string>((resolve) => {
      ws.on('open', () => ws.send(connectFrame(token)));
      ws.on('message', (d) => resolve(d.toString()));
    });
    expect(JSON.parse(reply).connect.client).toBeTypeOf('string');
    ws.close();
  });
});

describe('liveness and back-pressure', () => {
  it('a peer that never answers pings is closed with 3012 (no pong)', async () => {
    const res = await session([connectFrame(await hs({ sub: 'quiet' }))]);
    expect(res.messages).toContain('{}');
    expect(res).toMatchObject({ code: 3012, reason: 'no pong' });
  });

  it('a client that stops reading is disconnected with 3008 while server memory stays bounded', async () => {
    // Its own server with a long ping interval: only back-pressure may end this connection.
    const server = await start({ pingIntervalMs: 60_000, pongTimeoutMs: 10_000, maxQueueBytes: 256 * 1024 });
    try {
      await slowConsumer(server);
    } finally {
      await server.close();
    }
  });
});

async function slowConsumer(server: RunningServer): Promise<void> {
  {
    const token = await hs({ sub: 'slow' });
    // A hand-made upgrade over a raw socket that is then paused: the server's writes back up.
    const socket: Socket = netConnect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise((r) => socket.once('data', r));
    const frame = (text: string) => {
      const payload = Buffer.from(text);
      const mask = Buffer.from([1, 2, 3, 4]);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
      const len = payload.length;
      const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
      return Buffer.concat([head, mask, masked]);
    };
    socket.write(frame(connectFrame(token)));
    socket.write(frame('{"id":2,"subscribe":{"channel":"feed:firehose"}}'));
    await new Promise((r) => setTimeout(r, 200));
    socket.pause();
    const rssBefore = process.memoryUsage().rss;
    const payload = { blob: 'y'.repeat(8_000) };
    let closedBySlow = false;
    for (let i = 0; i < 2_000 && !closedBySlow; i++) {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/publish`, {
        method: 'POST',
        headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'feed:firehose', data: payload }),
      });
      expect(res.status).toBe(200);
      if (i % 50 === 49) closedBySlow = server.node.info().numClients === 0;
    }
    expect(closedBySlow).toBe(true);
    // 2,000 × 8 KB would be 16 MB queued; the bound is 256 KiB plus kernel buffers.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    socket.resume();
    const tail = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.on('error', () => resolve(Buffer.concat(chunks)));
      setTimeout(() => socket.destroy(), 3000);
    });
    // The close frame (opcode 0x8) carries code 3008 = 0x0bc0.
    const idx = tail.lastIndexOf(Buffer.from([0x88]));
    expect(idx).toBeGreaterThanOrEqual(0);
    expect(tail.readUInt16BE(idx + 2)).toBe(3008);
  }
}
