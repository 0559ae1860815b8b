#!/usr/bin/env node
// One client process of bench/soak.mjs (started by it with an IPC channel; not run by hand).
// Modes:
//   hold:      opens --count WebSocket connections from --address (Centrifuge JSON: connect with
//              the token, subscribe to one of --channels channels), answers server pings, holds
//              them, and counts every close or error it did not ask for. With --urls (a comma
//              list, used by bench/many-nodes.mjs) connection g of the whole run (--first + i)
//              goes to urls[(g mod channels + floor(g / channels)) mod urls]: each channel's
//              subscribers are spread over the nodes, and the nodes hold as many each.
//              Publications whose data carries { t, w: 1 } are counted and their latency (now −
//              t, ms since the epoch with µs precision) recorded between the parent's
//              'measure-start' and 'measure-stop' messages.
//   slowloris: keeps --count TCP sockets from --address sending an HTTP request head one header
//              line every --drip-ms and never finishing it; counts how the server ends each one
//              (408, other status, close, reset) and how long it took, and opens a fresh one in its
//              place until told to stop.
// Reports to the parent every second: { kind: 'stats', ... }; on 'stop' closes everything and
// sends { kind: 'final', ... }.
import { connect as tcpConnect } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    urls: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    address: { type: 'string', default: '127.0.0.1' },
    count: { type: 'string' },
    token: { type: 'string', default: '' },
    channels: { type: 'string', default: '100' },
    prefix: { type: 'string', default: 'soak:c' },
    'connect-rate': { type: 'string', default: '500' },
    'drip-ms': { type: 'string', default: '2000' },
    index: { type: 'string', default: '0' },
    first: { type: 'string' },
  },
});
const count = Number(values.count);
const ratePerSec = Number(values['connect-rate']);
const send = (message) => process.send?.(message);
let stopping = false;

if (values.mode === 'hold') hold();
else if (values.mode === 'slowloris') slowloris();
else throw new Error(`--mode is hold or slowloris, not ${values.mode}`);

function hold() {
  const sockets = new Set();
  const stats = {
    opened: 0,
    subscribed: 0,
    open: 0,
    unexpectedCloses: 0,
    errors: 0,
    connectFailures: 0,
    connectRetries: 0,
    pings: 0,
  };
  const closeCodes = {};
  const channels = Number(values.channels);
  const base = values.first !== undefined ? Number(values.first) : Number(values.index) * count;
  const urls = values.urls !== undefined ? values.urls.split(',') : [values.url];
  // Connection g subscribes to channel g mod channels; its k-th subscriber (k = floor(g / channels))
  // goes to node (channel + k) mod nodes: each channel's subscribers on consecutive nodes, and
  // every node the same number of connections (within one), whatever the counts.
  const urlOf = (g) => urls[((g % channels) + Math.floor(g / channels)) % urls.length];
  // Latency of measured publications (data.w === 1), in ms, between measure-start and -stop.
  const nowMs = () => performance.timeOrigin + performance.now();
  let measuring = false;
  let latencies = [];
  let measured = 0;
  const onPub = (data) => {
    if (!measuring || data === null || typeof data !== 'object' || data.w !== 1) return;
    measured++;
    latencies.push(nowMs() - data.t);
  };
  let started = 0;
  const connectOne = (i) => {
    const ws = new WebSocket(urlOf(base + i), { localAddress: values.address, perMessageDeflate: false });
    sockets.add(ws);
    let subscribed = false;
    let isOpen = false;
    ws.on('open', () => {
      isOpen = true;
      stats.opened++;
      stats.open++;
      ws.send(JSON.stringify({ id: 1, connect: { token: values.token, name: 'soak' } }));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      // The server's ping is an empty object; the pong is the same.
      if (text === '{}') {
        stats.pings++;
        ws.send('{}');
        return;
      }
      for (const line of text.split('\n')) {
        if (line === '') continue;
        // A ping may share a frame with other replies: answer it wherever it is.
        if (line === '{}') {
          ws.send('{}');
          continue;
        }
        const reply = JSON.parse(line);
        if (reply.push?.pub !== undefined) {
          onPub(reply.push.pub.data);
          continue;
        }
        if (reply.id === 1) {
          if (reply.error) stats.connectFailures++;
          else ws.send(JSON.stringify({ id: 2, subscribe: { channel: `${values.prefix}${(base + i) % channels}` } }));
        } else if (reply.id === 2) {
          if (reply.error) stats.connectFailures++;
          else if (!subscribed) {
            subscribed = true;
            stats.subscribed++;
          }
        } else if (reply.push?.disconnect !== undefined) {
          closeCodes[`push-${reply.push.disconnect.code}`] =
            (closeCodes[`push-${reply.push.disconnect.code}`] ?? 0) + 1;
        }
      }
    });
    ws.on('error', () => {
      if (!stopping && subscribed) stats.errors++;
    });
    ws.on('close', (code) => {
      sockets.delete(ws);
      if (isOpen) stats.open--;
      if (stopping) return;
      if (!subscribed) {
        // Not yet held: a connect that failed (a full accept queue on a loaded machine). A real
        // client tries again; counted apart from the disconnects of held connections.
        stats.connectRetries++;
        setTimeout(() => connectOne(i), 250);
        return;
      }
      stats.unexpectedCloses++;
      closeCodes[String(code)] = (closeCodes[String(code)] ?? 0) + 1;
    });
  };
  // Connect at a bounded rate so the server's accept queue is not the thing measured.
  const timer = setInterval(() => {
    const batch = Math.min(Math.ceil(ratePerSec / 10), count - started);
    for (let k = 0; k < batch; k++) connectOne(started++);
    if (started >= count) clearInterval(timer);
  }, 100);
  const report = setInterval(() => send({ kind: 'stats', stats: { ...stats }, closeCodes: { ...closeCodes } }), 1000);
  process.on('message', (m) => {
    if (m === 'measure-start') {
      latencies = [];
      measured = 0;
      measuring = true;
      return;
    }
    if (m === 'measure-stop') {
      measuring = false;
      send({ kind: 'measured', received: measured, latencies });
      latencies = [];
      return;
    }
    if (m !== 'stop') return;
    stopping = true;
    clearInterval(timer);
    clearInterval(report);
    for (const ws of sockets) ws.terminate();
    send({ kind: 'final', stats: { ...stats }, closeCodes: { ...closeCodes } });
    setTimeout(() => process.exit(0), 200);
  });
}

function slowloris() {
  const dripMs = Number(values['drip-ms']);
  const port = Number(values.port);
  const stats = { opened: 0, open: 0, refused408: 0, refusedOther: 0, closedSilently: 0, reset: 0, connectErrors: 0 };
  const lifetimes = [];
  const sockets = new Set();
  const openOne = () => {
    if (stopping) return;
    const startedAt = Date.now();
    const socket = tcpConnect({ host: values.host, port, localAddress: values.address });
    sockets.add(socket);
    let connected = false;
    let head = '';
    let lines = 0;
    let drip;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      connected = true;
      stats.opened++;
      stats.open++;
      socket.write(`GET /api/info HTTP/1.1\r\nHost: ${values.host}\r\n`);
      drip = setInterval(() => socket.write(`X-Slow-${lines++}: ${'a'.repeat(8)}\r\n`), dripMs);
    });
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
    });
    socket.on('error', (error) => {
      if (!connected) stats.connectErrors++;
      else if (error.code === 'ECONNRESET') head ||= 'RESET';
    });
    socket.on('close', () => {
      clearInterval(drip);
      sockets.delete(socket);
      if (!connected) {
        if (!stopping) setTimeout(openOne, 100);
        return;
      }
      stats.open--;
      if (stopping) return;
      lifetimes.push(Date.now() - startedAt);
      if (head.startsWith('HTTP/1.1 408')) stats.refused408++;
      else if (head === 'RESET') stats.reset++;
      else if (head === '') stats.closedSilently++;
      else stats.refusedOther++;
      openOne();
    });
  };
  let started = 0;
  const timer = setInterval(() => {
    const batch = Math.min(Math.ceil(ratePerSec / 10), count - started);
    for (let k = 0; k < batch; k++, started++) openOne();
    if (started >= count) clearInterval(timer);
  }, 100);
  const summary = () => {
    const sorted = [...lifetimes].sort((a, b) => a - b);
    const at = (q) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return { ...stats, refused: lifetimes.length, lifetimeP50Ms: at(0.5), lifetimeMaxMs: at(1) };
  };
  const report = setInterval(() => send({ kind: 'stats', stats: summary() }), 1000);
  process.on('message', (m) => {
    if (m !== 'stop') return;
    stopping = true;
    clearInterval(timer);
    clearInterval(report);
    for (const s of sockets) s.destroy();
    send({ kind: 'final', stats: summary() });
    setTimeout(() => process.exit(0), 200);
  });
}
