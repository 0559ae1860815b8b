// The bench WebSocket client against a real `ws` WebSocketServer (handshake, subprotocols, text
// and binary both ways, ping → pong, closes from either side) and against hand-made responses
// for the handshake failures.
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { acceptFor, openRawWebSocket, type RawWebSocket, type RawWsError, type RawWsOptions } from './raw-ws.js';

interface Client {
  readonly socket: RawWebSocket;
  readonly messages: { data: Buffer; binary: boolean }[];
  readonly errors: RawWsError[];
  readonly opened: Promise<string>;
  readonly closed: Promise<void>;
  serverClose: number | undefined;
  closedCount: number;
}

function client(options: RawWsOptions): Client {
  let opened: (protocol: string) => void = () => {};
  let closed: () => void = () => {};
  const c: Client = {
    messages: [],
    errors: [],
    opened: new Promise((resolve) => (opened = resolve)),
    closed: new Promise((resolve) => (closed = resolve)),
    serverClose: undefined,
    closedCount: 0,
    socket: openRawWebSocket(options, {
      open: (protocol) => opened(protocol),
      // A copy: `data` is only valid during the call.
      message: (data, binary) => c.messages.push({ data: Buffer.from(data), binary }),
      error: (error) => c.errors.push(error),
      serverClose: (code) => (c.serverClose = code),
      closed: () => {
        c.closedCount++;
        closed();
      },
    }),
  };
  return c;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

const servers: (WebSocketServer | Server)[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    if (server instanceof WebSocketServer) for (const ws of server.clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function wsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{
  url: string;
  server: WebSocketServer;
  next: Promise<WebSocket>;
}> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, ...options });
  servers.push(server);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const next = once(server, 'connection').then(([ws]) => ws as WebSocket);
  return { url: `ws://127.0.0.1:${port}/path?x=1`, server, next };
}

/** A TCP server that answers every request with `respond(requestHead)`. */
async function rawServer(respond: (head: string) => string | Buffer): Promise<string> {
  const server = createServer((socket) => {
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) socket.write(respond(head));
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

function keyOf(head: string): string {
  return /sec-websocket-key: (\S+)/i.exec(head)?.[1] ?? '';
}

describe('openRawWebSocket against a ws server', () => {
  it('completes the handshake on the path and query, from the source address, and sends text and binary', async () => {
    const { url, server, next } = await wsServer();
    let path = '';
    server.on('headers', (_, req) => (path = req.url ?? ''));
    const c = client({ url, localAddress: '127.0.0.2' });
    expect(await c.opened).toBe('');
    const ws = await next;
    expect(path).toBe('/path?x=1');
    const received: { data: string; binary: boolean }[] = [];
    ws.on('message', (data: Buffer, binary) => received.push({ data: data.toString(), binary }));
    c.socket.sendText('héllo');
    c.socket.sendBinary(Buffer.from('bin'));
    c.socket.sendText(Buffer.from('bytes as text'));
    await until(() => received.length === 3);
    expect(received).toEqual([
      { data: 'héllo', binary: false },
      { data: 'bin', binary: true },
      { data: 'bytes as text', binary: false },
    ]);
    expect(c.errors).toEqual([]);
    c.socket.destroy();
  });

  it('receives text, binary, large and fragmented messages', async () => {
    const { url, next } = await wsServer();
    const c = client({ url });
    await c.opened;
    const ws = await next;
    const large = Buffer.alloc(1024 * 1024, 0x62);
    ws.send('text');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(large);
    ws.send('frag', { fin: false });
    ws.send('mented', { fin: true });
    await until(() => c.messages.length === 4);
    expect(c.messages.map((m) => [m.binary, m.data.length])).toEqual([
      [false, 4],
      [true, 3],
      [true, large.length],
      [false, 10],
    ]);
    expect(c.messages[0]?.data.toString()).toBe('text');
    expect(c.messages[2]?.data.equals(large)).toBe(true);
    expect(c.messages[3]?.data.toString()).toBe('fragmented');
    c.socket.destroy();
  });

  it('agrees on a subprotocol the server picks', async () => {
    const { url, server } = await wsServer({ handleProtocols: (offered) => [...offered].at(-1) ?? false });
    let offered = '';
    server.on('headers', (_, req) => (offered = req.headers['sec-websocket-protocol'] ?? ''));
    const c = client({ url, protocols: ['tidings-protobuf', 'tidings-msgpack'] });
    expect(await c.opened).toBe('tidings-msgpack');
    expect(offered).toBe('tidings-protobuf, tidings-msgpack');
    c.socket.destroy();
  });

  it('fails when a subprotocol was offered and the server chose none', async () => {
    const { url } = await wsServer({ handleProtocols: () => false });
    const c = client({ url, protocols: ['tidings-protobuf'] });
    await c.closed;
    expect(c.errors.map((e) => [e.code, e.message])).toEqual([
      ['WS_BAD_PROTOCOL', 'the server chose none of tidings-protobuf'],
    ]);
  });

  it('answers a ping with a masked pong of the same payload (ws rejects unmasked client frames)', async () => {
    const { url, next } = await wsServer();
    const c = client({ url });
    await c.opened;
    const ws = await next;
    const pong = once(ws, 'pong');
    ws.ping(Buffer.from('are you there'));
    const [payload] = (await pong) as [Buffer];
    expect(payload.toString()).toBe('are you there');
    c.socket.destroy();
  });

  it('answers a server close with the same code and reports the connection closed once', async () => {
    const { url, next } = await wsServer();
    const c = client({ url });
    await c.opened;
    const ws = await next;
    const serverSaw = once(ws, 'close');
    ws.close(4001, 'bye');
    const [code] = (await serverSaw) as [number];
    await c.closed;
    expect(code).toBe(4001);
    expect(c.serverClose).toBe(4001);
    expect(c.closedCount).toBe(1);
    expect(c.errors).toEqual([]);
  });

  it('closes gracefully with 1000 on close()', async () => {
    const { url, next } = await wsServer();
    const c = client({ url });
    await c.opened;
    const ws = await next;
    const serverSaw = once(ws, 'close');
    c.socket.close();
    const [code] = (await serverSaw) as [number];
    await c.closed;
    expect(code).toBe(1000);
    expect(c.closedCount).toBe(1);
  });

  it('drops the connection at once on destroy()', async () => {
    const { url, next } = await wsServer();
    const c = client({ url });
    await c.opened;
    const ws = await next;
    const serverSaw = once(ws, 'close');
    c.socket.destroy();
    const [code] = (await serverSaw) as [number];
    await c.closed;
    expect(code).toBe(1006); // abnormal closure: no close frame was sent
  });
});

describe('openRawWebSocket handshake failures', () => {
  it('reports a status other than 101', async () => {
    const url = await rawServer(() => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    const c = client({ url });
    await c.closed;
    expect(c.errors.map((e) => [e.code, e.message])).toEqual([
      ['WS_BAD_STATUS', 'expected status 101, got "HTTP/1.1 403 Forbidden"'],
    ]);
  });

  it('reports a wrong Sec-WebSocket-Accept', async () => {
    const url = await rawServer(
      () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n',
    );
    const c = client({ url });
    await c.closed;
    expect(c.errors.map((e) => [e.code, e.message])).toEqual([
      ['WS_BAD_ACCEPT', 'Sec-WebSocket-Accept "bm9wZQ==" does not match the key'],
    ]);
  });

  it('reads frames that arrive in the same read as the 101 head, then reports a protocol error', async () => {
    const url = await rawServer((head) =>
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(keyOf(head))}\r\n\r\n`,
        ),
        Buffer.from([0x81, 2, 0x68, 0x69]), // text "hi"
        Buffer.from([0xc1, 1, 0x78]), // RSV1 set: no extension was agreed
      ]),
    );
    const c = client({ url });
    await c.closed;
    expect(c.messages.map((m) => m.data.toString())).toEqual(['hi']);
    expect(c.errors.map((e) => e.code)).toEqual(['WS_RESERVED_BITS']);
    expect(c.closedCount).toBe(1);
  });

  it('reports a refused connection as a socket error, then closed', async () => {
    const url = await rawServer(() => '');
    const server = servers.pop() as Server;
    await new Promise((resolve) => server.close(resolve));
    const c = client({ url });
    await c.closed;
    expect(c.errors.map((e) => e.code)).toEqual(['WS_SOCKET']);
    expect(c.errors[0]?.message).toMatch(/ECONNREFUSED/);
  });

  it('rejects a wss:// URL without connecting', async () => {
    const c = client({ url: 'wss://127.0.0.1:1/' });
    await c.closed;
    expect(c.errors.map((e) => [e.code, e.message])).toEqual([['WS_URL', 'wss: URLs are not supported (ws:// only)']]);
  });
});
