#!/usr/bin/env node
// Many nodes, many connections (issue 19, part 4): --per-node WebSocket connections on each of n
// `tidings serve` nodes sharing one engine (Redis: the shared 127.0.0.1:6379 under a unique key
// prefix; NATS: the shared 127.0.0.1:4222 with a unique stream), for each n in --nodes, over
// --channels channels. Weak scaling: the load per node stays the same as nodes are added, so
// n = 8 at 12,500 per node is 100,000 connections; the publish rate stays the same, so each
// publication reaches more subscribers as connections grow (connections ÷ channels each).
//
// The connections are held by child processes (bench/soak-clients.mjs, hold mode), at most
// --per-process each and each from its own source address in 127.0.0.0/8, so no process passes
// the 20,000 open files allowed per process; each channel's subscribers are spread over every
// node, so every publication crosses the engine. A publisher in this process sends --rate
// publications/s as POST /api/batch every 10 ms, round-robin over the nodes (as a load balancer
// would), each carrying its send time. After --warmup seconds, --duration seconds are measured.
//
// Reports per engine and node count: connections held, time to connect them, RSS per
// connection (node RSS once subscribed minus RSS when idle, over connections), deliveries/s and
// deliveries / expected (every measured publication × its channel's subscribers), p50/p99/p99.9
// publish → receive latency, CPU per node (% of one core), engine load (Redis: commands/s and CPU
// from INFO; NATS: CPU of the nats-server process), and the load client's CPU. Medians over
// --rounds with the spread; node counts interleaved per round. Writes JSON with --out.
//
// Usage (after `npm run build`):
//   node bench/many-nodes.mjs                      # redis,nats × 1,2,4,8 nodes × 12,500 per node
//   node bench/many-nodes.mjs --engines redis --nodes 1,2 --per-node 500 --channels 100 --duration 3
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanEngine, engineSection, listening, streamOf } from './engine-nodes.mjs';

const usage = `Usage: node bench/many-nodes.mjs [--engines redis,nats] [--nodes 1,2,4,8] [--per-node 12500]
       [--channels 10000] [--rate 1000] [--history 0] [--duration 20] [--warmup 5] [--rounds 1]
       [--per-process 10000] [--connect-rate 2000] [--port 9300] [--out result.json] [--chart chart.svg]
Run \`npm run build\` first. Starts max(--nodes) tidings serve per run on consecutive ports.`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      engines: { type: 'string', default: 'redis,nats' },
      nodes: { type: 'string', default: '1,2,4,8' },
      'per-node': { type: 'string', default: '12500' },
      channels: { type: 'string', default: '10000' },
      rate: { type: 'string', default: '1000' },
      history: { type: 'string', default: '0' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '1' },
      'per-process': { type: 'string', default: '10000' },
      'connect-rate': { type: 'string', default: '2000' },
      port: { type: 'string', default: '9300' },
      out: { type: 'string' },
      chart: { type: 'string' },
    },
  });
} catch (error) {
  console.error(`many-nodes: ${error.message}\n${usage}`);
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
const perNode = Number(values['per-node']);
const channels = Number(values.channels);
const rate = Number(values.rate);
const history = Number(values.history);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const rounds = Number(values.rounds);
const perProcess = Number(values['per-process']);
const connectRate = Number(values['connect-rate']);
const basePort = Number(values.port);
const wholes = {
  'per-node': perNode,
  channels,
  rate,
  duration,
  rounds,
  'per-process': perProcess,
  'connect-rate': connectRate,
  port: basePort,
};
for (const [name, n] of Object.entries(wholes)) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`many-nodes: --${name} must be a whole number ≥ 1\n${usage}`);
    process.exit(2);
  }
}
if (!Number.isInteger(history) || history < 0 || !Number.isInteger(warmup) || warmup < 0) {
  console.error(`many-nodes: --history and --warmup must be whole numbers ≥ 0\n${usage}`);
  process.exit(2);
}
if (nodeCounts.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`many-nodes: --nodes is a list of whole numbers ≥ 1\n${usage}`);
  process.exit(2);
}
if (perProcess > 18_000 || perNode > 18_000) {
  console.error('many-nodes: --per-node and --per-process must stay ≤ 18,000 (20,000 open files per process)');
  process.exit(2);
}
for (const engine of engines) {
  if (engine !== 'redis' && engine !== 'nats') {
    console.error(`many-nodes: unknown engine ${engine} (redis, nats)\n${usage}`);
    process.exit(2);
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'apps/tidings/bin/tidings.js');
const dir = mkdtempSync(join(tmpdir(), 'tidings-many-nodes-'));
const apiKey = `bench-api-${randomBytes(8).toString('hex')}`;
const secret = randomBytes(24).toString('hex');
const log = (line) => process.stderr.write(`many-nodes: ${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nowMs = () => performance.timeOrigin + performance.now();
const num = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const live = new Set();

// Bounded: every run stops by itself; this is the backstop if one hangs.
const perRunMs = 180_000 + (warmup + duration) * 1000 + ((perNode * Math.max(...nodeCounts)) / connectRate) * 4000;
const hardLimit = setTimeout(
  () => {
    log('gave up: a run took far longer than it should (see the lines above)');
    for (const child of live) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  },
  perRunMs * engines.length * nodeCounts.length * rounds,
);
hardLimit.unref();

function spawnTracked(args, options) {
  const child = spawn(process.execPath, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** CPU seconds (user + system) and RSS MiB of a process from /proc; undefined when it is gone. */
function proc(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuS: (Number(fields[11]) + Number(fields[12])) / 100, rssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN };
  } catch {
    return undefined;
  }
}

/** The pid of the nats-server listening on 4222 (its command line names the port), if any. */
function natsServerPid() {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('nats-server') && cmd.includes('4222')) return Number(entry);
    } catch {}
  }
  return undefined;
}

async function startNodes(engine, prefix, count) {
  const section = engineSection(engine, prefix, streamOf('MANY', prefix));
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const port = basePort + i;
    if (await listening(port, 200)) throw new Error(`port ${port} is taken; pass --port`);
    const config = join(dir, `${engine}-${i}.json`);
    const namespace = {
      allowSubscribeForClient: true,
      ...(history > 0 ? { historySize: history, historyTtlMs: 60_000 } : {}),
    };
    writeFileSync(
      config,
      JSON.stringify({
        http: { host: '127.0.0.1', port },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        engine: section,
        channels: { namespaces: { m: namespace } },
        log: { level: 'warn' },
      }),
    );
    const child = spawnTracked([cli, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    nodes.push({ child, port, config, exited: new Promise((resolve) => child.once('exit', resolve)) });
  }
  for (const node of nodes) {
    if (!(await listening(node.port, 30_000)))
      throw new Error(`tidings serve (${engine}) did not listen on ${node.port}`);
  }
  return nodes;
}

async function stopAll(children) {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(50);
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Engine counters at one instant: Redis commands and CPU from INFO; NATS CPU from /proc. */
async function engineProbe(engine) {
  if (engine === 'redis') {
    const { createClient } = await import('redis');
    const c = createClient({ url: 'redis://127.0.0.1:6379' });
    await c.connect();
    return {
      sample: async () => {
        const info = await c.info();
        const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
        return { commands: field('total_commands_processed'), cpuS: field('used_cpu_user') + field('used_cpu_sys') };
      },
      close: () => c.close(),
    };
  }
  const pid = natsServerPid();
  return {
    sample: async () => ({
      commands: Number.NaN,
      cpuS: pid === undefined ? Number.NaN : (proc(pid)?.cpuS ?? Number.NaN),
    }),
    close: async () => {},
  };
}

function startHolders(total, urls, token) {
  const parts = Math.ceil(total / perProcess);
  const stats = [];
  const measured = [];
  const children = [];
  let first = 0;
  for (let i = 0; i < parts; i++) {
    const share = Math.floor(total / parts) + (i < total % parts ? 1 : 0);
    first += share;
    const child = spawnTracked(
      [
        join(root, 'bench/soak-clients.mjs'),
        '--mode',
        'hold',
        '--count',
        String(share),
        '--index',
        String(i),
        '--first',
        String(first - share),
        '--address',
        `127.0.${2 + Math.floor(i / 200)}.${10 + (i % 200)}`,
        '--urls',
        urls.join(','),
        '--token',
        token,
        '--channels',
        String(channels),
        '--prefix',
        'm:c',
        '--connect-rate',
        String(Math.ceil(connectRate / parts)),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    child.on('message', (m) => {
      if (m.kind === 'stats') stats[i] = m.stats;
      else if (m.kind === 'measured') measured[i] = m;
    });
    children.push(child);
  }
  const sum = (key) => stats.reduce((acc, s) => acc + (s?.[key] ?? 0), 0);
  return {
    children,
    subscribed: () => sum('subscribed'),
    unexpected: () => sum('unexpectedCloses') + sum('errors'),
    retries: () => sum('connectRetries'),
    startMeasure: () => {
      measured.length = 0;
      for (const c of children) c.send('measure-start');
    },
    stopMeasure: async () => {
      for (const c of children) c.send('measure-stop');
      const deadline = Date.now() + 30_000;
      while (measured.filter(Boolean).length < children.length && Date.now() < deadline) await sleep(50);
      return measured;
    },
    stop: async () => {
      for (const c of children) if (c.connected) c.send('stop');
      await sleep(500);
      await stopAll(children);
    },
  };
}

/** Publishes `rate`/s as batches every 10 ms, round-robin over `apis`; counts measured ones. */
function startPublisher(apis, subsOf) {
  let running = true;
  let measuring = false;
  let seq = 0;
  let inflight = 0;
  const counts = { measured: 0, expected: 0, failed: 0, published: 0 };
  const perTick = rate / 100;
  let due = 0;
  let target = 0;
  const t0 = Date.now();
  let ticks = 0;
  const tick = async () => {
    due += perTick;
    const n = Math.floor(due);
    due -= n;
    if (n === 0 || inflight >= 64) return;
    const w = measuring ? 1 : 0;
    const commands = [];
    const chans = [];
    for (let k = 0; k < n; k++) {
      const c = seq++ % channels;
      chans.push(c);
      commands.push({ publish: { channel: `m:c${c}`, data: { t: nowMs(), w } } });
    }
    const api = apis[target++ % apis.length];
    inflight++;
    try {
      const res = await fetch(`${api}/api/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify({ commands }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await res.json();
      body.replies.forEach((reply, k) => {
        if (reply.publish === undefined) {
          counts.failed++;
          return;
        }
        counts.published++;
        if (w === 1) {
          counts.measured++;
          counts.expected += subsOf(chans[k]);
        }
      });
    } catch {
      counts.failed += n;
    } finally {
      inflight--;
    }
  };
  // A fixed schedule that catches up when a timer fires late, so the offered rate is the rate.
  const loop = (async () => {
    while (running) {
      ticks++;
      void tick();
      const wait = t0 + ticks * 10 - Date.now();
      if (wait > 0) await sleep(wait);
      else if (ticks % 20 === 0) await sleep(0);
    }
  })();
  return {
    counts,
    measure: (on) => {
      measuring = on;
    },
    stop: async () => {
      running = false;
      await loop;
      const deadline = Date.now() + 15_000;
      while (inflight > 0 && Date.now() < deadline) await sleep(20);
    },
  };
}

const quantile = (sorted, q) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function runOnce(engine, n, round) {
  const prefix = `tidings-many-${randomBytes(4).toString('hex')}:`;
  const total = perNode * n;
  log(
    `[${engine} round ${round + 1}] ${n} node(s) × ${num(perNode)} = ${num(total)} connections, ${num(channels)} channels`,
  );
  const nodes = await startNodes(engine, prefix, n);
  const probe = await engineProbe(engine);
  let holders;
  let publisher;
  try {
    const { spawnSync } = await import('node:child_process');
    const gen = spawnSync(
      process.execPath,
      [cli, 'gentoken', '--config', nodes[0].config, '--user', 'bench', '--ttl', '7200'],
      {
        encoding: 'utf8',
      },
    );
    if (gen.status !== 0) throw new Error(`gentoken failed: ${gen.stderr}`);
    const token = gen.stdout.trim();
    await sleep(1000);
    const idle = nodes.map((node) => proc(node.child.pid));
    const t0 = Date.now();
    holders = startHolders(
      total,
      nodes.map((node) => `ws://127.0.0.1:${node.port}/connection/websocket`),
      token,
    );
    const connectDeadline = Date.now() + 60_000 + (total / connectRate) * 4000;
    let lastLog = 0;
    while (holders.subscribed() < total && Date.now() < connectDeadline) {
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`  ${num(holders.subscribed())}/${num(total)} subscribed`);
      }
      await sleep(200);
    }
    const connectSeconds = (Date.now() - t0) / 1000;
    if (holders.subscribed() < total)
      throw new Error(`only ${holders.subscribed()}/${total} subscribed in ${connectSeconds.toFixed(0)} s`);
    log(`  ${num(total)} subscribed in ${connectSeconds.toFixed(1)} s (${holders.retries()} connect retries)`);
    await sleep(2000);
    const held = nodes.map((node) => proc(node.child.pid));
    const subsOf = (c) => Math.floor(total / channels) + (c < total % channels ? 1 : 0);
    publisher = startPublisher(
      nodes.map((node) => `http://127.0.0.1:${node.port}`),
      subsOf,
    );
    await sleep(warmup * 1000);
    const before = {
      nodes: nodes.map((node) => proc(node.child.pid)),
      clients: holders.children.map((c) => proc(c.pid)),
      engine: await probe.sample(),
      self: process.cpuUsage(),
      at: nowMs(),
    };
    holders.startMeasure();
    // Let the measure-start messages land before the first measured publication is sent.
    await sleep(200);
    publisher.measure(true);
    await sleep(duration * 1000);
    publisher.measure(false);
    const windowS = (nowMs() - before.at) / 1000;
    const after = {
      nodes: nodes.map((node) => proc(node.child.pid)),
      clients: holders.children.map((c) => proc(c.pid)),
      engine: await probe.sample(),
      self: process.cpuUsage(before.self),
    };
    // Measured publications still in flight arrive within the drain.
    await sleep(3000);
    const measured = await holders.stopMeasure();
    const latencies = measured.flatMap((m) => m?.latencies ?? []).sort((a, b) => a - b);
    const delivered = measured.reduce((acc, m) => acc + (m?.received ?? 0), 0);
    const nodeCpu = after.nodes.map(
      (s, i) => ((s?.cpuS ?? Number.NaN) - (before.nodes[i]?.cpuS ?? Number.NaN)) / windowS,
    );
    const clientCpu =
      after.clients.reduce((acc, s, i) => acc + (s?.cpuS ?? 0) - (before.clients[i]?.cpuS ?? 0), 0) / windowS;
    const rssIdle = idle.reduce((acc, s) => acc + (s?.rssMiB ?? 0), 0);
    const rssHeld = held.reduce((acc, s) => acc + (s?.rssMiB ?? 0), 0);
    const row = {
      engine,
      round,
      nodes: n,
      connections: total,
      channels,
      rate,
      history,
      connectSeconds,
      connectRetries: holders.retries(),
      unexpectedCloses: holders.unexpected(),
      rssIdleMiBPerNode: rssIdle / n,
      rssHeldMiBPerNode: rssHeld / n,
      kibPerConnection: ((rssHeld - rssIdle) * 1024) / total,
      published: publisher.counts.published,
      failedPublishes: publisher.counts.failed,
      measuredPublications: publisher.counts.measured,
      publishedPerSec: publisher.counts.measured / windowS,
      delivered,
      expected: publisher.counts.expected,
      deliveriesPerSec: delivered / windowS,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      p999Ms: quantile(latencies, 0.999),
      maxMs: quantile(latencies, 1),
      nodeCpuPct: nodeCpu.map((x) => x * 100),
      nodeCpuPctMean: (nodeCpu.reduce((a, b) => a + b, 0) / n) * 100,
      engineCommandsPerSec: (after.engine.commands - before.engine.commands) / windowS,
      engineCpuPct: ((after.engine.cpuS - before.engine.cpuS) / windowS) * 100,
      loadClientCpuPct: (clientCpu + (after.self.user + after.self.system) / 1e6 / windowS) * 100,
      loadAverage: loadavg()[0],
    };
    log(
      `  ${num(row.deliveriesPerSec)} deliveries/s (${num(delivered)}/${num(row.expected)}), p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, ${row.kibPerConnection.toFixed(2)} KiB/conn, node CPU ${row.nodeCpuPctMean.toFixed(1)} %, engine CPU ${row.engineCpuPct.toFixed(1)} %`,
    );
    return row;
  } finally {
    await publisher?.stop();
    await holders?.stop();
    await probe.close();
    await stopAll(nodes.map((node) => node.child));
    await cleanEngine(engine, prefix, streamOf('MANY', prefix)).catch((error) =>
      log(`  cleaning the engine failed: ${error.message}`),
    );
  }
}

const rows = [];
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? nodeCounts : [...nodeCounts].reverse();
    for (const engine of engines) for (const n of order) rows.push(await runOnce(engine, n, round));
  }
} finally {
  for (const child of live) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fix = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const spread = (xs, d = 2) =>
  `${fix(median(xs), d)}${xs.length > 1 ? ` (${fix(Math.min(...xs), d)}–${fix(Math.max(...xs), d)})` : ''}`;
const lines = [
  `Many nodes: ${num(perNode)} WebSocket connections per node over ${num(channels)} channels, ${num(rate)} publications/s (batches every 10 ms, round-robin over the nodes), history ${history}, ${duration} s measured after ${warmup} s, ${rounds} round(s); medians (spread)`,
  '',
  '| engine | nodes | connections | connect s | KiB/conn | deliveries/s | delivered / expected | p50 ms | p99 ms | p99.9 ms | node CPU % (mean) | engine cmds/s | engine CPU % | load client CPU % | unexpected closes |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const engine of engines) {
  for (const n of nodeCounts) {
    const set = rows.filter((r) => r.engine === engine && r.nodes === n);
    if (set.length === 0) continue;
    const total = (key) => set.reduce((acc, r) => acc + r[key], 0);
    lines.push(
      `| ${engine} | ${n} | ${num(set[0].connections)} | ${spread(
        set.map((r) => r.connectSeconds),
        1,
      )} | ${spread(set.map((r) => r.kibPerConnection))} | ${num(median(set.map((r) => r.deliveriesPerSec)))} | ${num(total('delivered'))} / ${num(total('expected'))} | ${spread(set.map((r) => r.p50Ms))} | ${spread(set.map((r) => r.p99Ms))} | ${spread(set.map((r) => r.p999Ms))} | ${spread(
        set.map((r) => r.nodeCpuPctMean),
        1,
      )} | ${num(median(set.map((r) => r.engineCommandsPerSec)))} | ${spread(
        set.map((r) => r.engineCpuPct),
        1,
      )} | ${spread(
        set.map((r) => r.loadClientCpuPct),
        0,
      )} | ${total('unexpectedCloses')} |`,
    );
  }
}
console.log(lines.join('\n'));
if (values.out !== undefined)
  writeFileSync(
    values.out,
    `${JSON.stringify({ perNode, channels, rate, history, duration, warmup, rounds, nodeCounts, engines, rows }, null, 2)}\n`,
  );
if (values.chart !== undefined) {
  const { writeBarChart } = await import('./bar-chart.mjs');
  const bars = (key) =>
    engines.flatMap((engine) =>
      nodeCounts.map((n) => ({
        label: `${engine} ${n}`,
        value: median(rows.filter((r) => r.engine === engine && r.nodes === n).map((r) => r[key])),
      })),
    );
  await writeBarChart(
    values.chart,
    `${num(perNode)} connections per node, ${num(channels)} channels, ${num(rate)} publications/s (engine, nodes)`,
    [
      { title: 'deliveries/s', axis: 'deliveries/s', bars: bars('deliveriesPerSec') },
      { title: 'publish → receive p99', axis: 'p99 (ms)', bars: bars('p99Ms') },
      { title: 'RSS per connection', axis: 'KiB', bars: bars('kibPerConnection') },
      { title: 'CPU per node', axis: '% of one core', bars: bars('nodeCpuPctMean') },
    ],
  );
}
const incomplete = rows.filter((r) => r.delivered !== r.expected || r.unexpectedCloses > 0 || r.failedPublishes > 0);
if (incomplete.length > 0) {
  log(`${incomplete.length} run(s) lost deliveries, connections or publishes: see the table`);
  process.exitCode = 1;
}
