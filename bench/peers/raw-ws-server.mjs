#!/usr/bin/env node
// Peer for `tidings bench`: the naive broadcast server people write with the `ws` package, one
// `client.send(msg)` per subscriber (the message is serialized once per publication, as in the
// ws README's broadcast example). It speaks just enough of the Centrifuge JSON protocol for the
// same harness to drive it: connect and subscribe replies (no auth, no pings), publication pushes,
// and `POST /api/publish {"channel","data"}`. No history, no recovery, no backpressure limit.
//
// Usage: node bench/peers/raw-ws-server.mjs [--port 8001] [--host 127.0.0.1]
//        [--path /connection/websocket]
// Prints `listening http://HOST:PORT` on stdout once it accepts connections.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8001' },
    host: { type: 'string', default: '127.0.0.1' },
    path: { type: 'string', default: '/connection/websocket' },
  },
});

/** channel → subscribed sockets */
const channels = new Map();
/** channel → last offset */
const offsets = new Map();

function handleCommand(socket, command) {
  if (command.connect !== undefined) {
    socket.send(JSON.stringify({ id: command.id, connect: { client: randomUUID(), version: 'raw-ws' } }));
  } else if (command.subscribe !== undefined) {
    const channel = command.subscribe.channel;
    const set = channels.get(channel) ?? new Set();
    channels.set(channel, set);
    set.add(socket);
    socket.channels.push(channel);
    socket.send(JSON.stringify({ id: command.id, subscribe: {} }));
  } else if (command.id !== undefined) {
    socket.send(JSON.stringify({ id: command.id, error: { code: 100, message: 'not implemented by raw-ws peer' } }));
  }
  // `{}` (a pong) and anything else without an id needs no answer.
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.channels = [];
  socket.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      if (line.trim() === '') continue;
      try {
        handleCommand(socket, JSON.parse(line));
      } catch {
        socket.close(3501, 'bad request');
        return;
      }
    }
  });
  socket.on('close', () => {
    for (const channel of socket.channels) channels.get(channel)?.delete(socket);
  });
  socket.on('error', () => socket.terminate());
});

function publish(channel, data) {
  const offset = (offsets.get(channel) ?? 0) + 1;
  offsets.set(channel, offset);
  const msg = JSON.stringify({ push: { channel, pub: { data, offset } } });
  const subscribers = channels.get(channel);
  if (subscribers !== undefined) for (const client of subscribers) client.send(msg);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/publish') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    try {
      const { channel, data } = JSON.parse(body);
      publish(channel, data);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    } catch {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":{"code":107,"message":"bad request"}}');
    }
  });
});
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url ?? '/', 'http://x').pathname !== values.path) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  console.log(`listening http://${values.host}:${address.port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
