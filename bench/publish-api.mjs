#!/usr/bin/env node
// HTTP publish API throughput and latency (issue 5), memory engine against Redis, same run.
// For each engine it starts `tidings serve` fresh, pinned to core 0 (`taskset -c 0`), while this
// process pins itself to core 1 and runs `tidings bench --scenario publish-api` (the library,
// apps/tidings/dist/bench/: autocannon plus a load worker holding the subscribers) once per
// scenario, each to one channel with --subscribers WebSocket subscribers (default 4, at least 1)
// so the fan-out of every publish is part of the figure:
//   single  POST /api/publish, one publication per request
//   batch   POST /api/batch with --batch publish commands per request (docs/api.md), in order
//   batch-parallel  the same with "parallel": true (commands run concurrently; not by default)
// Reports publishes/s (requests/s × publishes per request), request latency p50/p99 (measured
// per response in µs: autocannon's own histogram has 1 ms steps), deliveries seen by the
// subscribers, and the ratio redis ÷ memory, and where the CPU went (/proc, over the measured
// run): µs of CPU per publish in the Tidings server, in the engine's own process (the
// redis-server or nats-server listening on its port) and in this load client, and how busy the
// whole machine was — on a 2-core machine the three share two cores, which bounds the figures. Redis is the shared 127.0.0.1:6379 with a unique
// key prefix, deleted afterwards.
//
// NATS (--engines ...,nats) is the shared 127.0.0.1:4222 with a unique stream name and subject
// prefix, whose streams are deleted afterwards.
//
// Before/after (issue 19): --baseline DIR names another built checkout (e.g. main before a
// change). Its `tidings serve` then runs beside this checkout's, interleaved per engine and round
// (before, after, after, before, ...), with the same load client (this checkout's bench library),
// and the report adds after ÷ before ratios (medians over --rounds). Compare ratios, not absolute
// figures, when the machine is shared.
//
// Usage (after `npm run build`):
//   node bench/publish-api.mjs [--duration 10] [--warmup 2] [--connections 32] [--batch 50]
//        [--engines memory,redis,nats] [--scenarios single,batch] [--subscribers 4] [--channels 1]
//        [--baseline DIR] [--rounds 1] [--server-cpu-prof DIR] [--port 8941] [--out result.json]
//        [--no-pin]
// --server-cpu-prof DIR: each `tidings serve` writes a V8 CPU profile (node --cpu-prof) there on exit.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanEngine, listening } from './engine-nodes.mjs';
import { hz, listenerPid, machineTicks, processTicks } from './proc-ticks.mjs';

const usage = `Usage: node bench/publish-api.mjs [--duration 10] [--warmup 2] [--connections 32] [--batch 50]
       [--engines memory,redis,nats] [--scenarios single,batch,batch-parallel] [--subscribers 4]
       [--channels 1] [--payload-bytes 100] [--baseline DIR] [--rounds 1] [--server-cpu-prof DIR] [--port 8941]
       [--out result.json] [--no-pin]
Run \`npm run build\` first. Starts \`tidings serve\` per engine on core 0 and drives it with autocannon.`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '32' },
      batch: { type: 'string', default: '50' },
      engines: { type: 'string', default: 'memory,redis' },
      scenarios: { type: 'string', default: 'single,batch' },
      subscribers: { type: 'string', default: '4' },
      channels: { type: 'string', default: '1' },
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      'server-cpu-prof': { type: 'string' },
      'payload-bytes': { type: 'string', default: '100' },
      port: { type: 'string', default: '8941' },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
    },
  });
} catch (error) {
  console.error(`publish-api: ${error.message}\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const batch = Number(values.batch);
const subscribers = Number(values.subscribers);
const channelCount = Math.max(1, Number(values.channels));
const rounds = Math.max(1, Number(values.rounds));
const port = Number(values.port);
const engines = values.engines.split(',');
const scenarios = values.scenarios.split(',');
const pin = !values['no-pin'];
const root = fileURLToPath(new URL('..', import.meta.url));
const cliOf = (dir) => join(dir, 'apps/tidings/bin/tidings.js');
/** The builds measured: this checkout ("after") and, with --baseline, the other one ("before"). */
const builds = [
  ...(values.baseline === undefined ? [] : [{ label: 'before', cli: cliOf(resolve(values.baseline)) }]),
  { label: 'after', cli: cliOf(root) },
];
const dir = mkdtempSync(join(tmpdir(), 'tidings-publish-api-'));
const apiKey = `bench-api-${randomBytes(8).toString('hex')}`;
const secret = randomBytes(24).toString('hex');
const log = (line) => process.stderr.write(`${line}\n`);
const num = (n) => Math.round(n).toLocaleString('en-US');

if (pin) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

async function startServer(engine, prefix, cli) {
  if (await listening(port, 200)) throw new Error(`publish-api: port ${port} is taken; pass --port`);
  const config = join(dir, `${engine}.json`);
  const engineSection =
    engine === 'redis'
      ? { type: 'redis', url: 'redis://127.0.0.1:6379', prefix }
      : engine === 'nats'
        ? {
            type: 'nats',
            servers: ['127.0.0.1:4222'],
            streamName: natsStream(prefix),
            subjectPrefix: natsStream(prefix),
          }
        : { type: 'memory' };
  writeFileSync(
    config,
    JSON.stringify({
      http: { host: '127.0.0.1', port },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      engine: engineSection,
      channels: { namespaces: { bench: { allowSubscribeForClient: true } } },
      log: { level: 'warn' },
    }),
  );
  const prof = values['server-cpu-prof'];
  const profile = prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`];
  const args = [process.execPath, ...profile, cli, 'serve', '--config', config];
  const child = spawn(pin ? 'taskset' : args[0], pin ? ['-c', '0', ...args] : args.slice(1), {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!(await listening(port, 15_000))) {
    child.kill();
    throw new Error(`publish-api: tidings serve (${engine}) did not listen on ${port}`);
  }
  const token = spawnSync(process.execPath, [cli, 'gentoken', '--config', config, '--user', 'bench', '--ttl', '3600'], {
    encoding: 'utf8',
  }).stdout.trim();
  return { child, token };
}

const library = join(root, 'apps/tidings/dist/bench/index.js');
const { runBench } = await import(pathToFileURL(library).href);

/** One `tidings bench --scenario publish-api` run against the server started for `engine`. */
function benchRun(server, scenario, seconds, onProgress) {
  const perRequest = scenario === 'single' ? 1 : batch;
  return runBench(
    {
      scenario: 'publish-api',
      url: `ws://127.0.0.1:${port}/connection/websocket`,
      apiUrl: `http://127.0.0.1:${port}`,
      token: server.token,
      apiKey,
      subscribers: Math.max(1, subscribers),
      channels: channelCount,
      channelPrefix: 'bench:api-',
      rate: 0,
      duration: seconds,
      codec: 'json',
      workers: 1,
      payloadBytes: Number(values['payload-bytes']),
      publishConcurrency: connections,
      batch: perRequest,
      ...(scenario === 'batch-parallel' ? { batchParallel: true } : {}),
      connectConcurrency: 50,
      socketsPerAddress: 15_000,
      serverPid: server.child.pid,
      progress: 'off',
    },
    onProgress,
  );
}

async function runScenario(engine, build, scenario, server) {
  if (!['single', 'batch', 'batch-parallel'].includes(scenario))
    throw new Error(`publish-api: unknown scenario ${scenario}`);
  const label = `[${engine} ${build} ${scenario}]`;
  // A fresh server's first seconds run unoptimized code; warm it up outside the figures.
  if (warmup > 0) {
    log(`${label} warming up ${warmup} s`);
    await benchRun(server, scenario, warmup);
  }
  log(
    `${label} ${duration} s, ${connections} connections, ${scenario === 'single' ? 1 : batch} publish(es) per request`,
  );
  // CPU of every process on the path, over the measured run (connect and drain included: idle).
  const enginePid = engine === 'redis' ? listenerPid(6379) : engine === 'nats' ? listenerPid(4222) : undefined;
  const before = {
    server: processTicks(server.child.pid),
    engine: enginePid === undefined ? 0 : processTicks(enginePid),
    load: process.cpuUsage(),
    machine: machineTicks(),
  };
  const result = await benchRun(server, scenario, duration, (p) => {
    const second = Math.floor(p.seconds);
    if (p.phase === 'publishing' && second > 0 && second <= duration && (second % 2 === 0 || second === duration))
      log(`${label} ${second}/${duration} s  ${num(p.deliveriesPerSec)} deliveries/s`);
  });
  const api = result.publishApi;
  const machine = machineTicks();
  const load = process.cpuUsage(before.load);
  const perPublish = (seconds) => (result.published > 0 ? (seconds * 1e6) / result.published : 0);
  return {
    engine,
    build,
    scenario,
    subscribers: result.connected,
    perRequest: api.batch,
    connections,
    seconds: result.publishSeconds,
    requestsPerSec: api.requestsPerSec,
    publishesPerSec: api.requestsPerSec * api.batch,
    p50Ms: api.requestLatencyUs.p50 / 1000,
    p99Ms: api.requestLatencyUs.p99 / 1000,
    maxMs: api.requestLatencyUs.max / 1000,
    non2xx: result.errors.publish,
    errors: result.errors.connect + result.errors.disconnects + result.errors.protocol,
    published: result.published,
    deliveries: result.deliveries,
    expectedDeliveries: result.expectedDeliveries,
    deliveryP99Ms: result.latencyUs.p99 / 1000,
    serverCpuPercent: result.server?.cpuPercent,
    serverUsPerPublish: perPublish((processTicks(server.child.pid) - before.server) / hz),
    engineUsPerPublish: enginePid === undefined ? 0 : perPublish((processTicks(enginePid) - before.engine) / hz),
    loadUsPerPublish: perPublish((load.user + load.system) / 1e6),
    machineBusyPercent:
      machine.total > before.machine.total
        ? (100 * (machine.busy - before.machine.busy)) / (machine.total - before.machine.total)
        : 0,
  };
}

/** A NATS stream name (and subject prefix) unique to this run, from the key prefix. */
function natsStream(prefix) {
  return `BENCH_${prefix.replace(/[^A-Za-z0-9]/g, '').slice(-8)}`;
}

const rows = [];
for (const engine of engines) {
  for (let round = 0; round < rounds; round++) {
    // Alternate which build goes first, so drift of the shared machine favours neither.
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) {
      const prefix = `tidings-bench-api-${randomBytes(4).toString('hex')}:`;
      const { child, token } = await startServer(engine, prefix, build.cli);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        for (const scenario of scenarios)
          rows.push({ round, ...(await runScenario(engine, build.label, scenario, { child, token })) });
      } finally {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (engine !== 'memory') await cleanEngine(engine, prefix, natsStream(prefix));
      }
    }
  }
}

const ms = (x) => x.toFixed(2);
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (xs) => (xs.length > 1 ? ` (${xs.map((x) => x.toFixed(2)).join(', ')})` : '');
const lines = [
  `HTTP publish API, ${duration} s per scenario, ${connections} connections, ${channelCount} channel(s), ${subscribers} WebSocket subscriber(s)${rounds > 1 ? `, ${rounds} rounds` : ''}`,
  '',
  '| engine | build | round | scenario | publishes/request | requests/s | publishes/s | p50 ms | p99 ms | max ms | non-2xx + errors | deliveries / expected | µs CPU/publish: server | engine | load client | machine busy % |',
  '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.engine} | ${r.build} | ${r.round + 1} | ${r.scenario} | ${r.perRequest} | ${num(r.requestsPerSec)} | ${num(r.publishesPerSec)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.maxMs)} | ${r.non2xx + r.errors} | ${num(r.deliveries)} / ${num(r.expectedDeliveries)} | ${r.serverUsPerPublish.toFixed(1)} | ${r.engineUsPerPublish.toFixed(1)} | ${r.loadUsPerPublish.toFixed(1)} | ${r.machineBusyPercent.toFixed(0)} |`,
  ),
];
const of = (engine, build, scenario) =>
  rows.filter((r) => r.engine === engine && r.build === build && r.scenario === scenario);
if (builds.length > 1) {
  const ratios = engines.flatMap((engine) =>
    scenarios.flatMap((scenario) => {
      const before = of(engine, 'before', scenario);
      const after = of(engine, 'after', scenario);
      const per = after.flatMap((a) => {
        const b = before.find((x) => x.round === a.round);
        return b === undefined || b.publishesPerSec === 0 ? [] : [a.publishesPerSec / b.publishesPerSec];
      });
      if (per.length === 0) return [];
      return [`| ${engine} | ${scenario} | ${median(per).toFixed(2)}×${spread(per)} |`];
    }),
  );
  lines.push('', '| engine | scenario | after ÷ before publishes/s, median (per round) |', '|---|---|---:|', ...ratios);
}
const peers = engines.filter((e) => e !== 'memory');
const engineRatios = builds.flatMap((build) =>
  peers.flatMap((engine) =>
    scenarios.flatMap((scenario) => {
      const per = of(engine, build.label, scenario).flatMap((r) => {
        const mem = of('memory', build.label, scenario).find((m) => m.round === r.round);
        return mem === undefined || mem.publishesPerSec === 0 ? [] : [r.publishesPerSec / mem.publishesPerSec];
      });
      if (per.length === 0) return [];
      return [`| ${build.label} | ${engine} | ${scenario} | ${median(per).toFixed(2)}×${spread(per)} |`];
    }),
  ),
);
if (engineRatios.length > 0)
  lines.push(
    '',
    '| build | engine | scenario | engine ÷ memory publishes/s, median |',
    '|---|---|---|---:|',
    ...engineRatios,
  );
console.log(lines.join('\n'));
if (values.out !== undefined)
  writeFileSync(
    values.out,
    `${JSON.stringify({ duration, connections, batch, subscribers, channels: channelCount, rounds, rows }, null, 2)}\n`,
  );
