#!/usr/bin/env node
// Proxied subscribe against local subscribe (issue 18): what asking the application costs.
// One Tidings node (this process, memory engine) with two namespaces: `local:` checks its own
// rules, `proxied:` asks a subscribe proxy, a node:http backend in a child process on loopback
// that grants every request. One WebSocket client (JSON protocol) connects once and subscribes
// --subscribes times to each namespace, one at a time, alternating, so both see the same machine
// state; each latency is command sent → reply received. Reports p50/p99/mean per namespace and
// the ratio proxied ÷ local. Bounded by --subscribes (default 2000 each); no wall-clock limit.
//
// Usage (after `npm run build`): node bench/proxy-subscribe.mjs [--subscribes 2000] [--json]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import {
  createHttpProxyHooks,
  createJwtAuthenticator,
  createMemoryEngine,
  createNode,
  createTidingsHandlers,
  signToken,
} from '@tidings/server';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: { subscribes: { type: 'string', default: '2000' }, json: { type: 'boolean', default: false } },
});
const count = Number(values.subscribes);
if (!Number.isInteger(count) || count < 1) throw new Error('--subscribes: a positive integer');

const backendSource = `
  const http = require('node:http');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"result":{}}'); });
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;
const backend = spawn(process.execPath, ['-e', backendSource], { stdio: ['ignore', 'pipe', 'inherit'] });
// The backend goes with this process, however it ends.
process.on('exit', () => backend.kill());
const [portLine] = await once(backend.stdout, 'data');
const backendUrl = `http://127.0.0.1:${String(portLine).trim()}/subscribe`;

const secret = 'bench-proxy-secret-0123456789abcdef';
const node = createNode({
  ...createMemoryEngine(),
  authenticator: createJwtAuthenticator({ keys: [{ alg: 'HS256', secret }] }),
  channels: { namespaces: { local: { allowSubscribeForClient: true }, proxied: {} } },
  hooks: createHttpProxyHooks({ namespaces: { proxied: { subscribe: { url: backendUrl } } }, timeoutMs: 5000 }),
});
await node.start();
const tidings = createTidingsHandlers(node);
const server = createServer((req, res) => tidings.handleRequest(req, res) || res.writeHead(404).end());
tidings.attach(server);
server.listen(0, '127.0.0.1');
await once(server, 'listening');

const ws = new WebSocket(`ws://127.0.0.1:${server.address().port}/connection/websocket`);
await once(ws, 'open');
const pending = new Map();
ws.on('message', (raw) => {
  for (const line of String(raw).split('\n')) {
    if (line === '') continue;
    const reply = JSON.parse(line);
    if (reply.id === undefined) {
      if (Object.keys(reply).length === 0) ws.send('{}');
      continue;
    }
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  }
});
let nextId = 0;
function command(body) {
  const id = ++nextId;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    pending.set(id, (reply) => {
      if (reply.error) reject(new Error(`${reply.error.code} ${reply.error.message}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
    ws.send(JSON.stringify({ id, ...body }));
  });
}
await command({
  connect: { token: await signToken({ sub: 'bench' }, { alg: 'HS256', secret }, { expiresInSec: 3600 }) },
});

const times = { local: [], proxied: [] };
/** One timed subscribe, then an untimed unsubscribe, so the session never nears its limit. */
async function subscribeOnce(channel) {
  const ms = await command({ subscribe: { channel } });
  await command({ unsubscribe: { channel } });
  return ms;
}
// A short warm-up of each path (JIT, the backend's keep-alive socket), not counted.
for (let i = 0; i < Math.min(100, count); i++) {
  await subscribeOnce(`local:w${i}`);
  await subscribeOnce(`proxied:w${i}`);
}
for (let i = 0; i < count; i++) {
  times.local.push(await subscribeOnce(`local:${i}`));
  times.proxied.push(await subscribeOnce(`proxied:${i}`));
}

function stats(list) {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (v) => Math.round(v * 1000) / 1000;
  return {
    n: sorted.length,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    meanMs: round(list.reduce((a, b) => a + b, 0) / list.length),
  };
}
const result = {
  local: stats(times.local),
  proxied: stats(times.proxied),
};
result.ratio = {
  p50: Math.round((result.proxied.p50Ms / result.local.p50Ms) * 100) / 100,
  p99: Math.round((result.proxied.p99Ms / result.local.p99Ms) * 100) / 100,
};

ws.close();
await tidings.close();
await node.shutdown();
server.closeAllConnections();
server.close();
backend.kill();

if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  console.log(`subscribe latency, ${count} each, node ${process.version}`);
  for (const k of ['local', 'proxied']) {
    const s = result[k];
    console.log(`${k.padEnd(8)} p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  mean ${s.meanMs} ms`);
  }
  console.log(`proxied ÷ local: p50 ×${result.ratio.p50}, p99 ×${result.ratio.p99}`);
}
