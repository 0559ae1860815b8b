#!/usr/bin/env node
// Live heap per idle WebSocket session (issue 5): starts a server under the inspector, connects
// one warm-up client, takes a heap snapshot (after a full GC), connects --connections more idle
// clients (Centrifuge JSON: connect with a JWT, subscribe to one channel, answer pings), takes a
// second snapshot, and prints the difference per connection: the whole live JS heap, and the
// biggest contributors by (node type, constructor or name) as self size and count. It also prints
// process.memoryUsage() and RSS growth per connection, so heap vs native (malloc) memory shows.
//
// Usage (after `npm run build`):
//   node bench/heap-per-session.mjs                          # tidings, 3,000 connections
//   node bench/heap-per-session.mjs --peer raw-ws --connections 3000 --port 8943
//   node bench/heap-per-session.mjs --top 40 --keep /tmp/snaps   # keep the .heapsnapshot files
// Bounded: it gives up after --timeout seconds (default 180) and always stops the server.
// The clients run in this process, so only the server's own memory is measured.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    peer: { type: 'string', default: 'tidings' },
    connections: { type: 'string', default: '3000' },
    port: { type: 'string', default: '8943' },
    top: { type: 'string', default: '25' },
    keep: { type: 'string' },
    timeout: { type: 'string', default: '180' },
    concurrency: { type: 'string', default: '100' },
    allocations: { type: 'boolean', default: false },
  },
});
const connections = Number(values.connections);
const port = Number(values.port);
const top = Number(values.top);
if (!['tidings', 'raw-ws'].includes(values.peer)) throw new Error('--peer is tidings or raw-ws');

const work = mkdtempSync(join(tmpdir(), 'heap-per-session-'));
const deadline = setTimeout(() => fail(new Error(`gave up after ${values.timeout} s`)), Number(values.timeout) * 1000);
deadline.unref();
process.on('uncaughtException', (error) => fail(error));
let server;
const clients = [];

function fail(error) {
  console.error(`heap-per-session: ${error.message}`);
  cleanup();
  process.exit(1);
}

function cleanup() {
  for (const c of clients) c.terminate();
  if (server !== undefined && server.exitCode === null) server.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

/** Starts the peer under the inspector; resolves with the inspector's WebSocket URL. */
function startServer() {
  let args;
  let token = '';
  let channel;
  if (values.peer === 'tidings') {
    const config = join(work, 'tidings.json');
    writeFileSync(
      config,
      JSON.stringify({
        http: { host: '127.0.0.1', port },
        auth: { keys: [{ alg: 'HS256', secret: 'heap-secret-0123456789abcdef0123456789' }] },
        api: { keys: ['heap-api-key-0123456789'] },
        channels: { namespaces: { bench: { allowSubscribeForClient: true } } },
        log: { level: 'warn' },
      }),
    );
    const cli = join(root, 'apps/tidings/bin/tidings.js');
    const gen = spawnSync(process.execPath, [cli, 'gentoken', '--config', config, '--user', 'bench', '--ttl', '86400']);
    if (gen.status !== 0) throw new Error(`gentoken failed: ${gen.stderr}`);
    token = gen.stdout.toString().trim();
    args = [cli, 'serve', '--config', config];
    channel = 'bench:fan-0';
  } else {
    args = [join(root, 'bench/peers/raw-ws-server.mjs'), '--port', String(port)];
    channel = 'fan-0';
  }
  server = spawn(process.execPath, ['--inspect=127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    server.stderr.on('data', (chunk) => {
      err += chunk;
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve({ inspectorUrl: m[1], token, channel });
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

/** A minimal Chrome DevTools Protocol client over the inspector WebSocket. */
async function inspector(url) {
  const ws = new WebSocket(url, { maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let next = 1;
  const pending = new Map();
  const listeners = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
    } else listeners.get(msg.method)?.(msg.params);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    send,
    on: (method, fn) => listeners.set(method, fn),
    close: () => ws.close(),
    async evaluate(expression) {
      const r = await send('Runtime.evaluate', { expression, returnByValue: true });
      return r.result.value;
    },
  };
}

async function waitListening() {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** One idle subscriber; resolves once subscribed. */
function connectClient(token, channel) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/connection/websocket`);
    clients.push(ws);
    ws.on('open', () => {
      ws.send(`${JSON.stringify({ id: 1, connect: { token } })}\n${JSON.stringify({ id: 2, subscribe: { channel } })}`);
    });
    ws.on('message', (data) => {
      for (const line of data.toString().split('\n')) {
        if (line === '') continue;
        const msg = JSON.parse(line);
        if (msg.id === 2) msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve();
        else if (msg.id === undefined && msg.push === undefined) ws.send('{}'); // ping → pong
      }
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

async function connectMany(n, token, channel) {
  const concurrency = Number(values.concurrency);
  let started = 0;
  const lane = async () => {
    while (started < n) {
      started++;
      await connectClient(token, channel);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
}

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

/** Full GC, memoryUsage, RSS and a heap snapshot summarized per (type, name). */
async function sample(cdp, label) {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const usage = JSON.parse(await cdp.evaluate('JSON.stringify(process.memoryUsage())'));
  const rss = rssBytes(server.pid);
  const chunks = [];
  cdp.on('HeapProfiler.addHeapSnapshotChunk', (p) => chunks.push(p.chunk));
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  const text = chunks.join('');
  if (values.keep) {
    mkdirSync(values.keep, { recursive: true });
    writeFileSync(join(values.keep, `${values.peer}-${label}.heapsnapshot`), text);
  }
  return { usage, rss, groups: summarize(JSON.parse(text)) };
}

/** Self size and count per (node type, name); closures and objects keep their constructor name. */
function summarize(snap) {
  const { node_fields: fields, node_types: types } = snap.snapshot.meta;
  const typeNames = types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const { nodes, strings } = snap;
  const groups = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += stride) {
    const type = typeNames[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    else if (type === 'number' || type === 'hidden' || type === 'code') name = name.length > 40 ? '' : name;
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}\t${name}`;
    const size = nodes[i + iSize];
    total += size;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { size, count: 1 });
    else {
      g.size += size;
      g.count++;
    }
  }
  return { total, groups };
}

async function main() {
  const { inspectorUrl, token, channel } = await startServer();
  await waitListening();
  const cdp = await inspector(inspectorUrl);
  await connectMany(1, token, channel);
  const before = await sample(cdp, 'before');
  if (values.allocations) {
    await cdp.send('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  await connectMany(connections, token, channel);
  const profile = values.allocations ? (await cdp.send('HeapProfiler.stopSampling')).profile : undefined;
  await new Promise((r) => setTimeout(r, 500));
  const after = await sample(cdp, 'after');
  cdp.close();

  const per = (a, b) => (b - a) / connections;
  const fmt = (bytes) => `${bytes.toFixed(0).padStart(6)} B`;
  console.log(`peer ${values.peer}, ${connections} idle connections (one subscription each), after a full GC:`);
  console.log(`  live JS heap (snapshot)   ${fmt(per(before.groups.total, after.groups.total))} per connection`);
  for (const k of ['heapUsed', 'heapTotal', 'external', 'arrayBuffers']) {
    console.log(`  memoryUsage().${k.padEnd(12)} ${fmt(per(before.usage[k], after.usage[k]))} per connection`);
  }
  // RSS here includes what the first snapshot itself made V8 and malloc keep: not a per-
  // connection figure (bench/idle-memory.sh measures RSS without the inspector).
  console.log(
    `  (RSS ${(before.rss / 1048576).toFixed(1)} → ${(after.rss / 1048576).toFixed(1)} MiB, snapshots included)`,
  );
  const rows = [];
  for (const [key, g] of after.groups.groups) {
    const b = before.groups.groups.get(key) ?? { size: 0, count: 0 };
    rows.push({ key, size: per(b.size, g.size), count: per(b.count, g.count) });
  }
  rows.sort((x, y) => y.size - x.size);
  console.log(`\n  top ${top} by self size per connection (type, name: bytes, objects):`);
  for (const r of rows.slice(0, top)) {
    const [type, name] = r.key.split('\t');
    console.log(`  ${fmt(r.size)}  ${r.count.toFixed(2).padStart(6)}  ${type.padEnd(12)} ${name}`);
  }
  if (profile !== undefined) printAllocations(profile);
}

/** Sampled allocation while connecting (garbage included), per connection, by allocating function. */
function printAllocations(profile) {
  const bySite = new Map();
  let total = 0;
  const walk = (node, stack) => {
    const f = node.callFrame;
    const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(packages|apps)\//, '$1/')}:${f.lineNumber + 1}`;
    const self = node.selfSize;
    if (self > 0) {
      // Attribute to the innermost frame outside node:internal, so library calls show their caller.
      const own = /^node:|^$/.test(f.url) ? (stack.findLast((s) => !/ node:| :0$/.test(s)) ?? site) : site;
      bySite.set(own, (bySite.get(own) ?? 0) + self);
      total += self;
    }
    for (const child of node.children) walk(child, [...stack, site]);
  };
  walk(profile.head, []);
  console.log(
    `\n  allocated while connecting (sampled, garbage included): ${(total / connections).toFixed(0)} B per connection`,
  );
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${(bytes / connections).toFixed(0).padStart(6)} B  ${site}`);
  }
}

main()
  .then(() => {
    cleanup();
    process.exit(0);
  })
  .catch(fail);
