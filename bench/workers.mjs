#!/usr/bin/env node
// Deliveries/s of `tidings serve --workers N` against `--workers 1` (issue 19), same run.
// For each round and each worker count (order alternating per round) it starts `tidings serve`
// fresh on the memory engine (with N > 1 the primary owns the engine and relays publications to
// the workers), then runs `tidings bench` (the library, fanout scenario) with --subscribers
// WebSocket subscribers over --channels channels, saturating the publish API (--rate 0) or at
// --rate, and reports deliveries/s and latency per worker count, and the N ÷ 1 ratio of
// deliveries/s (median over rounds, with each round's ratio). Where the cores went is reported
// too, over the whole bench call (connect, warm-up, publishing, drain): the machine's busy share
// of all its cores (/proc/stat), the server's CPU with every worker process (/proc of the primary
// and its children) and the load client's: on a 2-core machine the load client needs about a
// core of its own, which is what `--workers 2` would need to scale.
//
// Usage (after `npm run build`):
//   node bench/workers.mjs [--workers 1,2] [--subscribers 2000] [--channels 20] [--rate 0]
//        [--duration 5] [--warmup 2] [--rounds 3] [--load-workers 2] [--port 8931] [--out f.json]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { listening } from './engine-nodes.mjs';
import { hz, machineTicks, treeTicks } from './proc-ticks.mjs';

const usage = `Usage: node bench/workers.mjs [--workers 1,2] [--subscribers 2000] [--channels 20] [--rate 0]
       [--duration 5] [--warmup 2] [--rounds 3] [--load-workers 2] [--port 8931] [--out f.json]`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      workers: { type: 'string', default: '1,2' },
      subscribers: { type: 'string', default: '2000' },
      channels: { type: 'string', default: '20' },
      rate: { type: 'string', default: '0' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      'load-workers': { type: 'string', default: '2' },
      port: { type: 'string', default: '8931' },
      out: { type: 'string' },
    },
  });
} catch (error) {
  console.error(`workers: ${error.message}\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const counts = values.workers.split(',').map(Number);
const [subscribers, channels, rate, duration, warmup, rounds, loadWorkers, port] = [
  values.subscribers,
  values.channels,
  values.rate,
  values.duration,
  values.warmup,
  values.rounds,
  values['load-workers'],
  values.port,
].map(Number);
if (counts.some((n) => !Number.isInteger(n) || n < 1) || ![subscribers, channels, port].every((n) => n >= 1)) {
  console.error(`workers: bad arguments\n${usage}`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'apps/tidings/bin/tidings.js');
const dir = mkdtempSync(join(tmpdir(), 'tidings-workers-'));
const apiKey = `bench-api-${randomBytes(8).toString('hex')}`;
const secret = randomBytes(24).toString('hex');
const log = (line) => process.stderr.write(`${line}\n`);
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(workers) {
  if (await listening(port, 200)) throw new Error(`workers: port ${port} is taken; pass --port`);
  const config = join(dir, `w${workers}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      http: { host: '127.0.0.1', port },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      engine: { type: 'memory' },
      workers,
      channels: { namespaces: { bench: { allowSubscribeForClient: true } } },
      log: { level: 'warn' },
    }),
  );
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (!(await listening(port, 20_000))) {
    child.kill('SIGKILL');
    throw new Error(`workers: tidings serve --workers ${workers} did not listen on ${port}`);
  }
  // The primary listens once the first worker does; give the others a moment to join.
  await delay(1_000);
  const token = spawnSync(process.execPath, [cli, 'gentoken', '--config', config, '--user', 'bench', '--ttl', '3600'], {
    encoding: 'utf8',
  }).stdout.trim();
  return { child, exited, token };
}

const { runBench } = await import(pathToFileURL(join(root, 'apps/tidings/dist/bench/index.js')).href);
const rows = [];
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? counts : [...counts].reverse();
  for (const workers of order) {
    const server = await startServer(workers);
    try {
      log(`[round ${round + 1}] --workers ${workers}: ${subscribers} subscribers, ${duration} s`);
      const machine0 = machineTicks();
      const server0 = treeTicks(server.child.pid);
      const wall0 = performance.now();
      const r = await runBench({
        scenario: 'fanout',
        url: `ws://127.0.0.1:${port}/connection/websocket`,
        apiUrl: `http://127.0.0.1:${port}`,
        token: server.token,
        apiKey,
        subscribers,
        channels,
        channelPrefix: 'bench:w-',
        rate,
        duration,
        warmupSeconds: warmup,
        codec: 'json',
        workers: Math.max(1, loadWorkers),
        payloadBytes: 100,
        publishConcurrency: 64,
        connectConcurrency: 100,
        socketsPerAddress: 15_000,
        progress: 'off',
        // With --workers above 1 this is the primary: its CPU is the relay cost (it owns the
        // memory engine and forwards every publication to the workers); with 1 it is the server.
        serverPid: server.child.pid,
      });
      const wallS = (performance.now() - wall0) / 1000;
      const machine1 = machineTicks();
      const serverCpuPct = ((treeTicks(server.child.pid) - server0) / hz / wallS) * 100;
      rows.push({
        round,
        workers,
        subscribers: r.connected,
        deliveriesPerSec: r.deliveriesPerSec,
        publishesPerSec: r.publishesPerSec,
        deliveries: r.deliveries,
        expectedDeliveries: r.expectedDeliveries,
        p50Ms: r.latencyUs.p50 / 1000,
        p99Ms: r.latencyUs.p99 / 1000,
        primaryCpuPct: r.server?.cpuPercent ?? Number.NaN,
        primaryCpuUsPerPublish:
          r.server === undefined || r.publishesPerSec === 0
            ? Number.NaN
            : (r.server.cpuPercent * 1e4) / r.publishesPerSec,
        errors: r.errors.publish + r.errors.connect + r.errors.disconnects + r.errors.protocol,
        // Over the whole bench call; % of one core, and the machine's busy share of all cores.
        serverCpuPct: Math.round(serverCpuPct * 10) / 10,
        loadCpuPct: r.loadCpuPercent,
        machineBusyPct: Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 1000) / 10,
      });
    } finally {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, delay(5_000)]);
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const num = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  `tidings serve --workers N, memory engine, ${subscribers} subscribers over ${channels} channel(s), rate ${rate === 0 ? 'saturating' : `${rate}/s`}, ${duration} s, ${rounds} round(s)`,
  '',
  '| workers | deliveries/s, median | publishes/s | p50 ms | p99 ms | deliveries / expected | errors | primary CPU % (1: the server) | primary µs per publish | server CPU %, all processes | load client CPU % | machine busy % of all cores | ÷ 1 worker (each round) |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const workers of counts) {
  const set = rows.filter((r) => r.workers === workers);
  const ratios = set.flatMap((r) => {
    const one = rows.find((x) => x.workers === 1 && x.round === r.round);
    return one === undefined || one.deliveriesPerSec === 0 ? [] : [r.deliveriesPerSec / one.deliveriesPerSec];
  });
  const sum = (key) => set.reduce((acc, r) => acc + r[key], 0);
  lines.push(
    `| ${workers} | ${num(median(set.map((r) => r.deliveriesPerSec)))} | ${num(median(set.map((r) => r.publishesPerSec)))} | ${median(set.map((r) => r.p50Ms)).toFixed(2)} | ${median(set.map((r) => r.p99Ms)).toFixed(2)} | ${num(sum('deliveries'))} / ${num(sum('expectedDeliveries'))} | ${sum('errors')} | ${median(set.map((r) => r.primaryCpuPct)).toFixed(1)} | ${median(set.map((r) => r.primaryCpuUsPerPublish)).toFixed(1)} | ${median(set.map((r) => r.serverCpuPct)).toFixed(1)} | ${median(set.map((r) => r.loadCpuPct)).toFixed(1)} | ${median(set.map((r) => r.machineBusyPct)).toFixed(1)} | ${ratios.length === 0 ? '—' : `${median(ratios).toFixed(2)}× (${ratios.map((x) => x.toFixed(2)).join(', ')})`} |`,
  );
}
console.log(lines.join('\n'));
if (values.out !== undefined)
  writeFileSync(values.out, `${JSON.stringify({ subscribers, channels, rate, duration, rounds, rows }, null, 2)}\n`);
