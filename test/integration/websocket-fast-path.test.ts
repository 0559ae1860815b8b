// The WebSocket fan-out fast path over real sockets: a shared push is written as one prebuilt
// frame straight to the socket (no ws.send per subscriber) when that is order-safe, and falls
// back to ws.send behind a message ws is still compressing.
import type { AddressInfo } from 'node:net';
import { type ClientCodec, type Codec, jsonCodec, msgpackCodec, protobufCodec } from '@tidings/protocol';
import { EncodedPush, WebSocketTransport } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

const te = new TextEncoder();
const td = new TextDecoder();
const servers: WebSocketServer[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A server-side ws and a connected client, with the server's `send` counted. */
async function pair(perMessageDeflate: boolean) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as AddressInfo).port;
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
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

  it('falls back to ws.send on a permessage-deflate connection and keeps the order behind a compressing message', async () => {
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
