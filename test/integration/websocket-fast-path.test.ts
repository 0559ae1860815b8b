// The WebSocket fan-out fast path over real sockets: a shared push is written as one prebuilt
// frame straight to the socket (no ws.send per subscriber) when that is order-safe, and falls
// back to ws.send behind a message ws is still compressing.
import type { AddressInfo, Socket } from 'node:net';
import {
  type ClientCodec,
  type Codec,
  jsonCodec,
  msgpackCodec,
  msgpackSubprotocol,
  protobufCodec,
  type Reply,
} from '@tidings/protocol';
import { EncodedPush, signToken, WebSocketTransport } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { startServer } from '../../apps/tidings/src/serve.js';
import { FlushScheduler } from '../../packages/server/src/core/flush-scheduler.js';
import { SessionWriter } from '../../packages/server/src/core/writer.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { deflateFrameBuilder } from '../../packages/server/src/transport/websocket/ws-frame.js';

const te = new TextEncoder();
const td = new TextDecoder();
const servers: WebSocketServer[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

type Deflate = boolean | { serverNoContextTakeover?: boolean; serverMaxWindowBits?: number };

/** A server-side ws and a connected client, with the server's `send` counted. */
async function pair(perMessageDeflate: Deflate, clientDeflate: Deflate = perMessageDeflate !== false) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as AddressInfo).port;
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: clientDeflate });
  clients.push(client);
  const received: Array<{ data: Uint8Array; binary: boolean }> = [];
  client.on('message', (data, binary) => received.push({ data: new Uint8Array(data as Buffer), binary }));
  await new Promise((r) => client.once('open', r));
  const server = await serverSide;
  let sends = 0;
  const send = server.send.bind(server);
  server.send = ((...args: Parameters<WebSocket['send']>) => {
    sends++;
    return send(...args);
  }) as WebSocket['send'];
  const until = async (n: number) => {
    while (received.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  return { server, client, received, until, sends: () => sends };
}

const encodedPub = (offset: number, size = 10) =>
  new EncodedPush({ channel: 'c', pub: { data: te.encode(JSON.stringify({ p: 'x'.repeat(size) })), offset } });

describe('WebSocketTransport.writeShared', () => {
  const codecs: Array<Codec & ClientCodec> = [jsonCodec, protobufCodec, msgpackCodec];
  for (const codec of codecs) {
    it(`writes one prebuilt ${codec.name} frame to the socket without ws.send, for small and large payloads`, async () => {
      const p = await pair(false);
      const transport = new WebSocketTransport(p.server, codec);
      const pushes = [encodedPub(1), encodedPub(2, 300), encodedPub(3, 70_000)];
      for (const e of pushes) transport.writeShared(e);
      await p.until(3);
      expect(p.sends()).toBe(0);
      const decoded = p.received.map((m) => codec.decodeReplies(m.data));
      expect(decoded).toEqual(pushes.map((e) => [{ push: e.push }]));
      expect(p.received.every((m) => m.binary === codec.binary)).toBe(true);
      p.client.close();
    });
  }

  it('falls back to ws.send with server context takeover and keeps the order behind a compressing message', async () => {
    const p = await pair(true);
    const transport = new WebSocketTransport(p.server, jsonCodec);
    // Above ws's 1 KiB threshold: compressed asynchronously, so ws's Sender is busy right after.
    transport.write(te.encode(JSON.stringify({ id: 1, big: 'y'.repeat(50_000) })));
    transport.writeShared(encodedPub(2));
    transport.writeShared(encodedPub(3));
    await p.until(3);
    expect(p.sends()).toBe(3);
    expect(
      p.received.map((m) => JSON.parse(td.decode(m.data)).id ?? JSON.parse(td.decode(m.data)).push.pub.offset),
    ).toEqual([1, 2, 3]);
    p.client.close();
  });

  it('counts direct writes in bufferedBytes while the peer does not read', async () => {
    const p = await pair(false);
    const transport = new WebSocketTransport(p.server, jsonCodec);
    (p.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = encodedPub(1, 200_000);
    for (let i = 0; i < 40 && transport.bufferedBytes === 0; i++) transport.writeShared(big);
    for (let i = 0; i < 40; i++) transport.writeShared(big);
    expect(p.sends()).toBe(0);
    expect(transport.bufferedBytes).toBeGreaterThan(0);
    p.client.terminate();
  });
});

const offsetOf = (m: { data: Uint8Array }) => {
  const v = JSON.parse(td.decode(m.data));
  return v.id ?? v.push.pub.offset;
};

describe('permessage-deflate without server context takeover', () => {
  const noTakeover = { serverNoContextTakeover: true };

  it('writes one frame compressed once per publication (RSV1), shared and decoded by the peer', async () => {
    const p = await pair(noTakeover, true);
    const transport = new WebSocketTransport(p.server, jsonCodec);
    const big = encodedPub(1, 5_000);
    const small = encodedPub(2, 10);
    transport.writeShared(big);
    transport.writeShared(small);
    await p.until(2);
    expect(p.sends()).toBe(0);
    expect(p.received.map((m) => jsonCodec.decodeReplies(m.data))).toEqual([
      [{ push: big.push }],
      [{ push: small.push }],
    ]);
    const frame = big.frameFor(jsonCodec, deflateFrameBuilder);
    expect(frame[0]).toBe(0x80 | 0x40 | 0x1);
    expect(frame.length).toBeLessThan(big.unitFor(jsonCodec).length / 4);
    expect(small.frameFor(jsonCodec, deflateFrameBuilder)[0]).toBe(0x81);
    p.client.close();
  });

  it('interleaves shared compressed frames with ws-compressed messages in order', async () => {
    const p = await pair(noTakeover, true);
    const transport = new WebSocketTransport(p.server, jsonCodec);
    transport.write(te.encode(JSON.stringify({ id: 1, big: 'y'.repeat(20_000) })));
    transport.writeShared(encodedPub(2, 3_000));
    transport.write(te.encode(JSON.stringify({ id: 3, big: 'z'.repeat(4_000) })));
    await p.until(3);
    transport.writeShared(encodedPub(4, 3_000));
    transport.writeShared(encodedPub(5, 3_000));
    await p.until(5);
    expect(p.received.map(offsetOf)).toEqual([1, 2, 3, 4, 5]);
    // 1 and 3 through ws; 2 behind the compressing 1 too; 4 and 5 written directly.
    expect(p.sends()).toBe(3);
    p.client.close();
  });

  it('falls back to ws.send when the client capped the server window below 15 bits', async () => {
    const p = await pair(noTakeover, { serverMaxWindowBits: 10 });
    const transport = new WebSocketTransport(p.server, jsonCodec);
    transport.writeShared(encodedPub(1, 5_000));
    await p.until(1);
    expect(p.sends()).toBe(1);
    expect(offsetOf(p.received[0]!)).toBe(1);
    p.client.close();
  });
});

describe('tidings serve with websocket.compression', () => {
  it('negotiates no server context takeover and delivers publications compressed once to deflate clients', async () => {
    const secret = 'ws-fast-path-secret-0123456789abcdef!!';
    const apiKey = 'ws-fast-path-api-key-0123456789';
    const running = await startServer(
      loadConfig({
        base: {
          http: { host: '127.0.0.1', port: 0 },
          auth: { keys: [{ alg: 'HS256', secret }] },
          api: { keys: [apiKey] },
          websocket: { compression: true },
          channels: { namespaces: { feed: { allowSubscribeForClient: true } } },
          log: { level: 'error' },
        },
      }),
      { logger: silentLogger },
    );
    try {
      const token = await signToken({ sub: 'z' }, { alg: 'HS256', secret }, { expiresInSec: 60 });
      const url = `ws://127.0.0.1:${running.port}/connection/websocket`;
      const subscribers = await Promise.all(
        [jsonCodec, msgpackCodec, jsonCodec].map(async (codec) => {
          const ws = new WebSocket(url, codec === msgpackCodec ? [msgpackSubprotocol] : [], {
            perMessageDeflate: true,
          });
          clients.push(ws);
          const replies: Reply[] = [];
          ws.on('message', (data) => replies.push(...codec.decodeReplies(new Uint8Array(data as Buffer))));
          const upgrade = new Promise<string>((r) =>
            ws.once('upgrade', (res) => r(String(res.headers['sec-websocket-extensions']))),
          );
          await new Promise((r) => ws.once('open', r));
          expect(await upgrade).toContain('server_no_context_takeover');
          ws.send(
            codec.encodeCommands([
              { id: 1, connect: { token } },
              { id: 2, subscribe: { channel: 'feed:z' } },
            ]),
          );
          while (!replies.some((r) => r.id === 2)) await new Promise((r) => setTimeout(r, 5));
          return replies;
        }),
      );
      const data = { blob: 'compress me '.repeat(400), n: 1 };
      const res = await fetch(`http://127.0.0.1:${running.port}/api/publish`, {
        method: 'POST',
        headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'feed:z', data }),
      });
      expect(res.status).toBe(200);
      for (const replies of subscribers) {
        while (!replies.some((r) => r.push?.pub)) await new Promise((r) => setTimeout(r, 5));
        const pub = replies.find((r) => r.push?.pub)?.push?.pub;
        expect(JSON.parse(td.decode(pub?.data))).toEqual(data);
      }
    } finally {
      for (const c of clients.splice(0)) c.terminate();
      await running.close();
    }
  });
});

describe('WebSocketTransport.holdWhileWriting', () => {
  it('while the socket is still sending, the pushes of many turns leave as a few frames, in order', async () => {
    const p = await pair(false);
    const transport = new WebSocketTransport(p.server, jsonCodec);
    const writer = new SessionWriter(transport, new FlushScheduler(), 256 << 20, { writerOverflowed: () => {} });
    // The client stops reading, so the server's kernel buffer fills and its socket holds bytes.
    const clientSocket = (p.client as unknown as { _socket: Socket })._socket;
    clientSocket.pause();
    const count = 200;
    for (let i = 1; i <= count; i++) {
      expect(writer.enqueueShared(encodedPub(i, 100_000))).toBe(true);
      await new Promise((r) => setImmediate(r));
    }
    clientSocket.resume();
    const offsets = () => p.received.flatMap((m) => jsonCodec.decodeReplies(m.data).map((r) => r.push?.pub?.offset));
    while (offsets().length < count) await new Promise((r) => setTimeout(r, 5));
    expect(offsets()).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    // One flush per turn would have made 200 frames; held pushes were joined instead.
    expect(p.received.length).toBeLessThan(count / 2);
    p.client.close();
  });
});
