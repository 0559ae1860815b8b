#!/usr/bin/env node
// Soak (issue 15): one `tidings serve` node (memory engine) holds --connections WebSocket
// connections for --minutes while --slowloris sockets drip an HTTP request head that never ends
// and a canary subscriber receives --canary-rate publications a second through the HTTP API.
// The clients run in child processes (bench/soak-clients.mjs), each with its own source address
// in 127.0.0.0/8, so no process passes the 20,000 open files allowed per process.
//
// What it reports (and writes as JSON to --out): unexpected closes of held connections (expected
// 0), RSS before connecting, once all are subscribed, at the peak and at the end, and RSS per
// connection; how the server ended the slowloris sockets (408 expected) and how long each lived;
// the canary's lost / duplicated / reordered publications (expected 0); /readyz at the end.
// Exits 1 when an expectation fails.
//
// Usage (after `npm run build`):
//   node bench/soak.mjs                                   # 10,000 connections, 10 min, 5,000 slowloris
//   node bench/soak.mjs --connections 2000 --minutes 1 --slowloris 500 --headers-timeout-ms 5000
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    slowloris: { type: 'string', default: '5000' },
    'slowloris-processes': { type: 'string', default: '2' },
    processes: { type: 'string', default: '4' },
    'canary-rate': { type: 'string', default: '20' },
    'headers-timeout-ms': { type: 'string', default: '20000' },
    'connect-rate': { type: 'string', default: '1000' },
    channels: { type: 'string', default: '100' },
    out: { type: 'string', default: join(root, 'bench/results/soak.json') },
    quiet: { type: 'boolean', default: false },
  },
});
const connections = Number(values.connections);
const holdMs = (values.seconds !== undefined ? Number(values.seconds) : Number(values.minutes) * 60) * 1000;
const slowCount = Number(values.slowloris);
const processes = Math.max(1, Number(values.processes));
const slowProcesses = Math.max(1, Number(values['slowloris-processes']));
const canaryRate = Number(values['canary-rate']);
const headersTimeoutMs = Number(values['headers-timeout-ms']);
const secret = 'soak-secret-0123456789abcdef0123456789';
const apiKey = 'soak-api-key-0123456789';
const log = (line) => {
  if (!values.quiet || line.startsWith('soak:')) console.log(line);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = mkdtempSync(join(tmpdir(), 'tidings-soak-'));
const children = [];
let server;

// Bounded: the whole run stops by itself after the hold plus generous set-up time.
const hardLimit = setTimeout(
  () => {
    console.error('soak: gave up (set-up or tear-down took far too long)');
    cleanup();
    process.exit(1);
  },
  holdMs + 10 * 60_000,
);
hardLimit.unref();

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (server !== undefined && server.exitCode === null) server.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function waitReady(base) {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error('the server did not become ready in 20 s');
}

function startClients(mode, count, parts, addressOf, extra) {
  const stats = [];
  const finals = [];
  const procs = [];
  for (let i = 0; i < parts; i++) {
    const share = Math.floor(count / parts) + (i < count % parts ? 1 : 0);
    if (share === 0) continue;
    const child = spawn(
      process.execPath,
      [
        join(root, 'bench/soak-clients.mjs'),
        '--mode',
        mode,
        '--count',
        String(share),
        '--address',
        addressOf(i),
        '--index',
        String(i),
        '--connect-rate',
        String(Math.ceil(Number(values['connect-rate']) / parts)),
        ...extra,
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const slot = procs.length;
    child.on('message', (m) => {
      if (m.kind === 'stats') stats[slot] = m;
      else if (m.kind === 'final') finals[slot] = m;
    });
    children.push(child);
    procs.push(child);
  }
  const sum = (list) => {
    const total = {};
    const codes = {};
    for (const m of list) {
      if (m === undefined) continue;
      for (const [k, v] of Object.entries(m.stats))
        total[k] = k.endsWith('Ms') ? Math.max(total[k] ?? 0, v) : (total[k] ?? 0) + v;
      for (const [k, v] of Object.entries(m.closeCodes ?? {})) codes[k] = (codes[k] ?? 0) + v;
    }
    return { ...total, closeCodes: codes };
  };
  return {
    now: () => sum(stats),
    stop: async () => {
      for (const p of procs) if (p.connected) p.send('stop');
      const deadline = Date.now() + 15_000;
      while (finals.filter(Boolean).length < procs.length && Date.now() < deadline) await sleep(50);
      return sum(finals.length === procs.length ? finals : stats);
    },
  };
}

/** One subscriber on `canary:probe` and a publisher at `rate`/s through the HTTP API. */
function startCanary(base, wsUrl, token, rate) {
  const received = [];
  let acked = 0;
  const ackedSeqs = [];
  let failedPublishes = 0;
  let seq = 0;
  let closedUnexpectedly = 0;
  let stopped = false;
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  const subscribed = new Promise((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, connect: { token, name: 'canary' } })));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === '{}') return ws.send('{}');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        // A ping may share a frame with other replies: answer it wherever it is.
        if (line === '{}') {
          ws.send('{}');
          continue;
        }
        const reply = JSON.parse(line);
        if (reply.id === 1) ws.send(JSON.stringify({ id: 2, subscribe: { channel: 'canary:probe' } }));
        else if (reply.id === 2) reply.error ? reject(new Error(JSON.stringify(reply.error))) : resolve();
        else if (reply.push?.pub !== undefined) received.push(reply.push.pub.data.seq);
      }
    });
    ws.on('close', () => {
      if (!stopped) closedUnexpectedly++;
    });
    ws.on('error', reject);
  });
  let running = false;
  let loop;
  // One publish at a time, on a fixed schedule (catching up when behind), so the order of the
  // sequence numbers is the order the server stored them in.
  const start = () => {
    running = true;
    loop = (async () => {
      const t0 = Date.now();
      while (running) {
        const n = ++seq;
        try {
          const res = await fetch(`${base}/api/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
            body: JSON.stringify({ channel: 'canary:probe', data: { seq: n } }),
          });
          if (res.ok) {
            acked++;
            ackedSeqs.push(n);
          } else failedPublishes++;
          await res.arrayBuffer();
        } catch {
          failedPublishes++;
        }
        const wait = t0 + (n * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
      }
    })();
  };
  const summary = () => {
    const seen = new Set();
    let duplicated = 0;
    let reordered = 0;
    let last = 0;
    for (const s of received) {
      if (seen.has(s)) duplicated++;
      seen.add(s);
      if (s < last) reordered++;
      last = Math.max(last, s);
    }
    const missing = ackedSeqs.filter((n) => !seen.has(n));
    return {
      published: seq,
      acked,
      failedPublishes,
      received: received.length,
      lost: missing.length,
      missing: missing.slice(0, 20),
      duplicated,
      reordered,
      closedUnexpectedly,
    };
  };
  return {
    subscribed,
    start,
    now: summary,
    stop: async () => {
      running = false;
      await loop;
      // Until every acknowledged publication arrived, or 10 s: what is still missing then is lost.
      const drainUntil = Date.now() + 10_000;
      while (summary().lost > 0 && Date.now() < drainUntil) await sleep(100);
      stopped = true;
      ws.close();
      return summary();
    },
  };
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;
  const config = join(work, 'tidings.json');
  writeFileSync(
    config,
    JSON.stringify({
      http: { host: '127.0.0.1', port, headersTimeoutMs, requestTimeoutMs: Math.max(headersTimeoutMs, 60_000) },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: { namespaces: { soak: { allowSubscribeForClient: true }, canary: { allowSubscribeForClient: true } } },
      log: { level: 'warn' },
    }),
  );
  const cli = join(root, 'apps/tidings/bin/tidings.js');
  const gen = spawnSync(process.execPath, [cli, 'gentoken', '--config', config, '--user', 'soak', '--ttl', '86400']);
  if (gen.status !== 0) throw new Error(`gentoken failed: ${gen.stderr}`);
  const token = gen.stdout.toString().trim();
  server = spawn(process.execPath, [cli, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  server.on('exit', (code, signal) => {
    if (!finished) {
      console.error(`soak: the server exited (${code ?? signal}) during the run`);
      cleanup();
      process.exit(1);
    }
  });
  await waitReady(base);
  const rss = { beforeMiB: rssMiB(server.pid), connectedMiB: 0, peakMiB: 0, endMiB: 0 };
  log(`soak: server pid ${server.pid} on ${base}, RSS ${rss.beforeMiB.toFixed(1)} MiB before connecting`);

  const canary = startCanary(base, wsUrl, token, canaryRate);
  await canary.subscribed;
  canary.start();

  const t0 = Date.now();
  const holders = startClients('hold', connections, processes, (i) => `127.0.0.${10 + i}`, [
    '--url',
    wsUrl,
    '--token',
    token,
    '--channels',
    values.channels,
  ]);
  const connectDeadline = Date.now() + Math.max(120_000, (connections / Number(values['connect-rate'])) * 8000);
  while (Date.now() < connectDeadline) {
    const s = holders.now();
    if ((s.subscribed ?? 0) >= connections) break;
    await sleep(500);
  }
  const afterConnect = holders.now();
  const connectSeconds = (Date.now() - t0) / 1000;
  rss.connectedMiB = rssMiB(server.pid);
  log(
    `soak: ${afterConnect.subscribed ?? 0}/${connections} subscribed in ${connectSeconds.toFixed(1)} s, RSS ${rss.connectedMiB.toFixed(1)} MiB`,
  );
  if ((afterConnect.subscribed ?? 0) < connections)
    throw new Error(`not every connection subscribed: ${JSON.stringify(afterConnect)}`);

  const slow =
    slowCount > 0
      ? startClients('slowloris', slowCount, slowProcesses, (i) => `127.0.1.${10 + i}`, [
          '--port',
          String(port),
          '--drip-ms',
          String(Math.max(200, Math.floor(headersTimeoutMs / 10))),
        ])
      : undefined;

  const holdStart = Date.now();
  let lastPrint = 0;
  while (Date.now() - holdStart < holdMs) {
    await sleep(1000);
    const r = rssMiB(server.pid);
    rss.peakMiB = Math.max(rss.peakMiB, r);
    if (Date.now() - lastPrint >= 10_000) {
      lastPrint = Date.now();
      const h = holders.now();
      const s = slow?.now() ?? {};
      const c = canary.now();
      log(
        `soak: ${Math.round((Date.now() - holdStart) / 1000)}/${holdMs / 1000} s  held ${h.open}  unexpected closes ${h.unexpectedCloses}  slowloris open ${s.open ?? 0} refused ${s.refused ?? 0}  canary ${c.received}/${c.acked} lost ${c.lost} canary closes ${c.closedUnexpectedly}  RSS ${r.toFixed(1)} MiB`,
      );
    }
  }
  rss.endMiB = rssMiB(server.pid);
  const slowFinal = slow === undefined ? undefined : await slow.stop();
  const ready = await fetch(`${base}/readyz`).then(
    (res) => res.status,
    () => 0,
  );
  const canaryFinal = await canary.stop();
  const heldFinal = await holders.stop();
  finished = true;
  server.kill('SIGTERM');

  // Per connection once all are subscribed, before the slowloris sockets add their own.
  const perConnectionKiB = ((rss.connectedMiB - rss.beforeMiB) * 1024) / connections;
  const report = {
    when: new Date().toISOString(),
    node: process.version,
    options: { connections, holdSeconds: holdMs / 1000, slowloris: slowCount, canaryRate, headersTimeoutMs, processes },
    connectSeconds,
    held: heldFinal,
    rss: { ...rss, perConnectionKiB },
    slowloris: slowFinal,
    canary: canaryFinal,
    readyz: ready,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  const problems = [];
  if (heldFinal.unexpectedCloses !== 0)
    problems.push(`${heldFinal.unexpectedCloses} held connections closed unexpectedly`);
  if (heldFinal.errors !== 0) problems.push(`${heldFinal.errors} socket errors`);
  if (canaryFinal.lost + canaryFinal.duplicated + canaryFinal.reordered + canaryFinal.closedUnexpectedly !== 0)
    problems.push(`canary: ${JSON.stringify(canaryFinal)}`);
  if (canaryFinal.acked === 0) problems.push('canary: no publication was acknowledged');
  if (slowFinal !== undefined) {
    if (slowFinal.refused === 0) problems.push('no slowloris socket was refused');
    // A reset is the server closing while the socket's last header bytes were still unread (TCP
    // answers those with RST, so the 408 may not reach the client): refused too, counted apart.
    if (slowFinal.refusedOther + slowFinal.closedSilently !== 0)
      problems.push(`slowloris sockets ended other than with 408 or a reset: ${JSON.stringify(slowFinal)}`);
  }
  if (ready !== 200) problems.push(`/readyz answered ${ready} at the end`);
  console.log(
    [
      '',
      `soak: ${connections} connections held ${holdMs / 1000} s: ${heldFinal.unexpectedCloses} unexpected closes, ${heldFinal.pings} pings answered (${heldFinal.connectRetries} connects retried before being held)`,
      `soak: RSS ${rss.beforeMiB.toFixed(1)} → ${rss.connectedMiB.toFixed(1)} (all subscribed) → ${rss.endMiB.toFixed(1)} MiB (end, with the slowloris sockets), peak ${rss.peakMiB.toFixed(1)}; ${perConnectionKiB.toFixed(2)} KiB per held connection`,
      slowFinal === undefined
        ? 'soak: no slowloris sockets'
        : `soak: slowloris: ${slowFinal.refused} sockets refused (${slowFinal.refused408} with 408, ${slowFinal.reset} reset), lifetime p50 ${slowFinal.lifetimeP50Ms} ms, max ${slowFinal.lifetimeMaxMs} ms; ${slowFinal.open} still open at the stop`,
      `soak: canary ${canaryFinal.received}/${canaryFinal.acked} received, lost ${canaryFinal.lost}, duplicated ${canaryFinal.duplicated}, reordered ${canaryFinal.reordered}`,
      `soak: /readyz ${ready}; report ${values.out}`,
      problems.length === 0 ? 'soak: OK' : `soak: FAILED: ${problems.join('; ')}`,
    ].join('\n'),
  );
  cleanup();
  process.exit(problems.length === 0 ? 0 : 1);
}

let finished = false;
main().catch((error) => {
  console.error(`soak: ${error.message}`);
  cleanup();
  process.exit(1);
});
