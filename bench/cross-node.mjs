#!/usr/bin/env node
// Cross-node latency (issue 19): publish through node A's HTTP API, subscribers spread over all
// nodes, end-to-end latency against the single-node figure of the same run.
//
// Per engine (Redis: the shared 127.0.0.1:6379 under a unique key prefix; NATS: the shared
// 127.0.0.1:4222 with a unique stream), it starts max(--nodes) `tidings serve` processes on one
// engine, then runs `tidings bench` (the library, fanout scenario: --subscribers WebSocket
// subscribers over --channels channels, --rate publications/s through node A's API) once per
// node count n in --nodes: the subscribers are held by --workers load processes, worker i on
// node i mod n. n = 1 is the single-node figure (every subscriber on node A, which also takes
// the publishes). Node counts are interleaved per round (--rounds), so drift of a shared machine
// favours none. Reports p50/p99/p99.9 (µs resolution) per engine, node count and rate, the
// medians over rounds with their spread, and n-node minus 1-node p99.
//
// Usage (after `npm run build`):
//   node bench/cross-node.mjs [--engines redis,nats] [--nodes 1,2,4] [--rates 1000,10000]
//        [--subscribers 200] [--channels 4] [--workers 4] [--duration 5] [--warmup 1]
//        [--rounds 1] [--port 8971] [--out result.json]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanEngine, engineSection, listening, streamOf } from './engine-nodes.mjs';

const usage = `Usage: node bench/cross-node.mjs [--engines redis,nats] [--nodes 1,2,4] [--rates 1000,10000]
       [--subscribers 200] [--channels 4] [--workers 4] [--duration 5] [--warmup 1] [--rounds 1]
       [--port 8971] [--out result.json]
Run \`npm run build\` first. Starts max(--nodes) tidings serve per engine on consecutive ports.`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      engines: { type: 'string', default: 'redis,nats' },
      nodes: { type: 'string', default: '1,2,4' },
      rates: { type: 'string', default: '1000,10000' },
      subscribers: { type: 'string', default: '200' },
      channels: { type: 'string', default: '4' },
      workers: { type: 'string', default: '4' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '1' },
      port: { type: 'string', default: '8971' },
      out: { type: 'string' },
    },
  });
} catch (error) {
  console.error(`cross-node: ${error.message}\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const list = (text) => text.split(',').map((x) => x.trim());
const engines = list(values.engines);
const nodeCounts = list(values.nodes).map(Number);
const rates = list(values.rates).map(Number);
const subscribers = Number(values.subscribers);
const channels = Number(values.channels);
const workers = Number(values.workers);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const rounds = Math.max(1, Number(values.rounds));
const basePort = Number(values.port);
for (const [name, n] of Object.entries({ subscribers, channels, workers, duration, basePort })) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`cross-node: --${name} must be a whole number ≥ 1\n${usage}`);
    process.exit(2);
  }
}
if (nodeCounts.some((n) => !Number.isInteger(n) || n < 1) || rates.some((r) => !Number.isInteger(r) || r < 1)) {
  console.error(`cross-node: --nodes and --rates are lists of whole numbers ≥ 1\n${usage}`);
  process.exit(2);
}
for (const engine of engines) {
  if (engine !== 'redis' && engine !== 'nats') {
    console.error(`cross-node: unknown engine ${engine} (redis, nats)\n${usage}`);
    process.exit(2);
  }
}
const maxNodes = Math.max(...nodeCounts);
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'apps/tidings/bin/tidings.js');
const dir = mkdtempSync(join(tmpdir(), 'tidings-cross-node-'));
const apiKey = `bench-api-${randomBytes(8).toString('hex')}`;
const secret = randomBytes(24).toString('hex');
const log = (line) => process.stderr.write(`${line}\n`);
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `count` nodes on one engine; resolves with their processes and a token. */
async function startNodes(engine, prefix, count) {
  const section = engineSection(engine, prefix, streamOf('BENCH', prefix));
  const nodes = [];
  let config = '';
  for (let i = 0; i < count; i++) {
    const port = basePort + i;
    if (await listening(port, 200)) throw new Error(`cross-node: port ${port} is taken; pass --port`);
    config = join(dir, `${engine}-${i}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        http: { host: '127.0.0.1', port },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        engine: section,
        channels: { namespaces: { bench: { allowSubscribeForClient: true } } },
        log: { level: 'warn' },
      }),
    );
    const child = spawn(process.execPath, [cli, 'serve', '--config', config], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    nodes.push({ child, port, exited: new Promise((resolve) => child.once('exit', resolve)) });
  }
  for (const node of nodes) {
    if (!(await listening(node.port, 20_000))) {
      await stopNodes(nodes);
      throw new Error(`cross-node: tidings serve (${engine}) did not listen on ${node.port}`);
    }
  }
  const token = spawnSync(process.execPath, [cli, 'gentoken', '--config', config, '--user', 'bench', '--ttl', '3600'], {
    encoding: 'utf8',
  }).stdout.trim();
  return { nodes, token };
}

async function stopNodes(nodes) {
  for (const node of nodes) node.child.kill('SIGTERM');
  for (const node of nodes) {
    await Promise.race([node.exited, delay(5_000)]);
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  }
}

const { runBench } = await import(pathToFileURL(join(root, 'apps/tidings/dist/bench/index.js')).href);
const wsUrl = (port) => `ws://127.0.0.1:${port}/connection/websocket`;

function measure(cluster, n, rate, seconds, warmupSeconds) {
  const [first, ...others] = cluster.nodes.slice(0, n).map((node) => wsUrl(node.port));
  return runBench({
    scenario: 'fanout',
    url: first,
    ...(others.length > 0 ? { alsoUrls: others } : {}),
    apiUrl: `http://127.0.0.1:${basePort}`,
    token: cluster.token,
    apiKey,
    subscribers,
    channels,
    channelPrefix: 'bench:x-',
    rate,
    duration: seconds,
    warmupSeconds,
    codec: 'json',
    workers: Math.max(workers, n),
    payloadBytes: 100,
    publishConcurrency: 64,
    connectConcurrency: 50,
    socketsPerAddress: 15_000,
    progress: 'off',
  });
}

const rows = [];
for (const engine of engines) {
  const prefix = `tidings-bench-x-${randomBytes(4).toString('hex')}:`;
  log(`[${engine}] starting ${maxNodes} node(s)`);
  const cluster = await startNodes(engine, prefix, maxNodes);
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? nodeCounts : [...nodeCounts].reverse();
      for (const rate of rates) {
        for (const n of order) {
          log(`[${engine} round ${round + 1}] ${n} node(s), ${rate}/s, ${subscribers} subscribers, ${duration} s`);
          const r = await measure(cluster, n, rate, duration, warmup);
          rows.push({
            engine,
            round,
            nodes: n,
            rate,
            subscribers: r.connected,
            published: r.published,
            publishedPerSec: r.publishesPerSec,
            deliveries: r.deliveries,
            expectedDeliveries: r.expectedDeliveries,
            p50Ms: r.latencyUs.p50 / 1000,
            p99Ms: r.latencyUs.p99 / 1000,
            p999Ms: r.latencyUs.p999 / 1000,
            maxMs: r.latencyUs.max / 1000,
            errors: r.errors.publish + r.errors.connect + r.errors.disconnects + r.errors.protocol,
          });
        }
      }
    }
  } finally {
    await stopNodes(cluster.nodes);
    await cleanEngine(engine, prefix, streamOf('BENCH', prefix));
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => x.toFixed(2);
const withSpread = (xs) =>
  `${ms(median(xs))}${xs.length > 1 ? ` (${ms(Math.min(...xs))}–${ms(Math.max(...xs))})` : ''}`;
const num = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  `Cross-node latency: publish through node A's API, ${subscribers} subscribers over ${channels} channel(s), spread over the nodes by ${workers} load worker(s), ${duration} s per run, ${rounds} round(s)`,
  '',
  '| engine | nodes | rate/s | published/s | p50 ms | p99 ms | p99.9 ms | p99 − 1-node p99 ms | deliveries / expected | errors |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const engine of engines) {
  for (const rate of rates) {
    const single = rows.filter((r) => r.engine === engine && r.rate === rate && r.nodes === 1);
    for (const n of nodeCounts) {
      const set = rows.filter((r) => r.engine === engine && r.rate === rate && r.nodes === n);
      if (set.length === 0) continue;
      const delta =
        n === 1 || single.length === 0
          ? '—'
          : ms(median(set.map((r) => r.p99Ms - (single.find((s) => s.round === r.round)?.p99Ms ?? Number.NaN))));
      const sum = (key) => set.reduce((acc, r) => acc + r[key], 0);
      lines.push(
        `| ${engine} | ${n} | ${num(rate)} | ${num(median(set.map((r) => r.publishedPerSec)))} | ${withSpread(set.map((r) => r.p50Ms))} | ${withSpread(set.map((r) => r.p99Ms))} | ${withSpread(set.map((r) => r.p999Ms))} | ${delta} | ${num(sum('deliveries'))} / ${num(sum('expectedDeliveries'))} | ${sum('errors')} |`,
      );
    }
  }
}
console.log(lines.join('\n'));
if (values.out !== undefined)
  writeFileSync(
    values.out,
    `${JSON.stringify({ subscribers, channels, workers, duration, rounds, nodeCounts, rates, rows }, null, 2)}\n`,
  );
