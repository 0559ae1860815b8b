#!/usr/bin/env node
// Peer for `tidings bench`: a Socket.IO 4 server as its docs suggest writing one, websocket
// transport only (no long-polling upgrade dance), one room per channel. A client joins with
// `socket.emit('subscribe', channel, ack)` or the handshake query `?channel=`; `POST /api/publish
// {"channel","data"}` emits `pub` with the data to the room (`io.to(channel).emit`), which
// Socket.IO encodes once per publication and writes to every member. No history, no auth.
//
// Usage: node bench/peers/socketio-server.mjs [--port 8002] [--host 127.0.0.1]
// Prints `listening http://HOST:PORT` on stdout once it accepts connections (port 0 = any).
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8002' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/publish') {
    // Socket.IO handles its own path (/socket.io/) before this listener sees the request.
    if (!req.url?.startsWith('/socket.io/')) res.writeHead(404).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    try {
      const { channel, data } = JSON.parse(body);
      if (typeof channel !== 'string') throw new TypeError('channel');
      io.to(channel).emit('pub', data);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    } catch {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":{"code":107,"message":"bad request"}}');
    }
  });
});

const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
});
io.on('connection', (socket) => {
  const channel = socket.handshake.query.channel;
  if (typeof channel === 'string') socket.join(channel);
  socket.on('subscribe', (name, ack) => {
    if (typeof name !== 'string') {
      if (typeof ack === 'function') ack({ error: 'channel must be a string' });
      return;
    }
    socket.join(name);
    if (typeof ack === 'function') ack({});
  });
});

server.listen(Number(values.port), values.host, () => {
  console.log(`listening http://${values.host}:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
