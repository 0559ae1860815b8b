// The `socketio` adapter (Engine.IO v4 + Socket.IO v5 spoken over the bench WebSocket client)
// against a real Socket.IO 4 server configured like bench/peers/socketio-server.mjs, with pings
// every 50 ms so that the Engine.IO heartbeat is exercised.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { ackSucceeded, createSocketIoAdapter, socketIoUrl } from './socketio.js';
import type { DeliverySink, SubscriberHooks } from './types.js';

let io: Server | undefined;
afterEach(async () => {
  await io?.close();
  io = undefined;
});

async function startServer(): Promise<{ origin: string; io: Server }> {
  const http = createServer();
  const server = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    pingInterval: 50,
    pingTimeout: 200,
  });
  io = server;
  server.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    next(token === 'refuse' ? new Error('bad token') : undefined);
  });
  server.on('connection', (socket) => {
    socket.data.token = (socket.handshake.auth as { token?: unknown }).token;
    socket.on('subscribe', (name: unknown, ack: (reply: object) => void) => {
      if (name === 'forbidden') return ack({ error: 'no' });
      socket.join(String(name));
      ack({});
    });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return { origin: `http://127.0.0.1:${(http.address() as { port: number }).port}`, io: server };
}

interface Recorded {
  readonly deliveries: number[];
  readonly settled: boolean[];
  closed: number;
  protocolErrors: number;
  dropped: number;
}

function open(origin: string, channel: string, token?: string) {
  const rec: Recorded = { deliveries: [], settled: [], closed: 0, protocolErrors: 0, dropped: 0 };
  const sink: DeliverySink = {
    delivery: (sent) => rec.deliveries.push(sent),
    protocolError: () => rec.protocolErrors++,
    dropped: () => rec.dropped++,
  };
  const hooks: SubscriberHooks = { settle: (ok) => rec.settled.push(ok), closed: () => rec.closed++ };
  const adapter = createSocketIoAdapter(
    { url: origin, codec: 'json', ...(token === undefined ? {} : { token }) },
    sink,
  );
  return { rec, subscriber: adapter.open(channel, '127.0.0.3', hooks) };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe('socketio adapter', () => {
  it('connects with the token, subscribes, reads send times, survives pings and leaves on close', async () => {
    const { origin, io: server } = await startServer();
    const { rec, subscriber } = open(origin, 'fan-1', 'tok-1');
    await until(() => rec.settled.length > 0);
    expect(rec.settled).toEqual([true]);
    const [socket] = await server.fetchSockets();
    expect(socket?.data.token).toBe('tok-1');
    expect(socket?.handshake.address).toMatch(/127\.0\.0\.3$/);
    server.to('fan-1').emit('pub', { t: 1234567, p: 'xx' });
    server.to('fan-1').emit('pub', { p: 'no time' });
    server.to('fan-2').emit('pub', { t: 1 });
    await until(() => rec.deliveries.length === 2);
    // Six ping intervals: a client that did not answer `2` with `3` would be dropped after 250 ms.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(rec.closed).toBe(0);
    server.to('fan-1').emit('pub', { t: 42 });
    await until(() => rec.deliveries.length === 3);
    expect(rec.deliveries).toEqual([1234567, -1, 42]);
    const left = new Promise<string>((resolve) =>
      server.sockets.sockets.get(socket?.id ?? '')?.on('disconnect', resolve),
    );
    subscriber.close();
    await until(() => rec.closed === 1);
    expect(await left).toBe('client namespace disconnect');
    expect(rec.protocolErrors).toBe(0);
    expect(rec.dropped).toBe(0);
  });

  it('counts a subscriber the server disconnects on its own as dropped', async () => {
    const { origin, io: server } = await startServer();
    const { rec } = open(origin, 'fan-1');
    await until(() => rec.settled.length > 0);
    server.disconnectSockets(true);
    await until(() => rec.closed === 1);
    expect(rec.dropped).toBe(1);
  });

  it('connects without a token (empty auth) too', async () => {
    const { origin, io: server } = await startServer();
    const { rec, subscriber } = open(origin, 'fan-1');
    await until(() => rec.settled.length > 0);
    expect(rec.settled).toEqual([true]);
    const [socket] = await server.fetchSockets();
    expect(socket?.data.token).toBeUndefined();
    subscriber.destroy();
    await until(() => rec.closed === 1);
  });

  it('settles false on an ack with an error and on a refused CONNECT', async () => {
    const { origin } = await startServer();
    const forbidden = open(origin, 'forbidden');
    await until(() => forbidden.rec.settled.length > 0);
    expect(forbidden.rec.settled).toEqual([false]);
    forbidden.subscriber.destroy();
    const refused = open(origin, 'fan-1', 'refuse');
    await until(() => refused.rec.settled.length > 0 && refused.rec.closed === 1);
    expect(refused.rec.settled).toEqual([false]);
  });

  it('builds the Engine.IO URL and reads acks', () => {
    expect(socketIoUrl('http://127.0.0.1:8002').href).toBe(
      'http://127.0.0.1:8002/socket.io/?EIO=4&transport=websocket',
    );
    expect(ackSucceeded('[{}]')).toBe(true);
    expect(ackSucceeded('[{"error":"channel must be a string"}]')).toBe(false);
    expect(ackSucceeded('[]')).toBe(false);
    expect(ackSucceeded('not json')).toBe(false);
  });
});
