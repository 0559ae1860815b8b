#!/usr/bin/env node
// MQTT fan-out: Tidings' MQTT edge against a private Mosquitto, same scenario, same run.
// Scenario: S raw MQTT 3.1.1 subscribers (QoS 0) on one topic, spread over several load
// processes and source addresses 127.0.0.x; one MQTT publisher sends P publications at R per
// second (payload: send time + padding). Reports, per broker: deliveries, deliveries/s over the
// run, deliveries per broker CPU-second (user + system, from /proc), and delivery latency
// p50/p99 (sampled 1 in 16). Ratios are Tidings / Mosquitto.
//
// With `--filter 'bench/#' --channels C` the subscribers hold one wildcard filter and the
// publications go round-robin to C topics `bench/fan/<i>` (Tidings: the hub's pattern index).
//
// Usage: npm run build && node bench/mqtt-fanout.mjs [--subscribers 5000] [--procs 2]
//        [--publications 100] [--rate 20] [--payload 100] [--filter bench/fan] [--channels 1]
//        [--json out.json]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import mqttPacket from 'mqtt-packet';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1];
};
const subscribers = Number(arg('subscribers', '5000'));
const procs = Number(arg('procs', '2'));
const publications = Number(arg('publications', '100'));
const rate = Number(arg('rate', '20'));
const payloadBytes = Number(arg('payload', '100'));
const jsonOut = arg('json', undefined);
const channels = Number(arg('channels', '1'));
const topicOf = (i) => (channels > 1 ? `bench/fan/${i % channels}` : 'bench/fan');
const filter = arg('filter', topicOf(0));
const here = new URL('.', import.meta.url).pathname;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks of 10 ms
}

function lines(child) {
  const rl = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  rl.on('line', (l) => (waiters.length > 0 ? waiters.shift()(l) : queue.push(l)));
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
}

async function startTidings() {
  const child = spawn(process.execPath, [join(here, 'mqtt/tidings-broker.mjs'), '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const next = lines(child);
  const port = Number((await next()).split(' ')[1]);
  return { name: 'tidings', child, port, stop: async () => child.kill('SIGTERM') };
}

async function startMosquitto() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\nmax_queued_messages 100000\npersistence false\nlog_dest none\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (ok) break;
    await sleep(25);
  }
  return {
    name: 'mosquitto',
    child,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function publisher(port) {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      clientId: `pub-${Date.now()}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
    }),
  );
  await new Promise((r) => socket.once('data', r));
  return socket;
}

async function runPeer(start) {
  const broker = await start();
  const loaders = [];
  for (let k = 0; k < procs; k++) {
    const n = Math.floor(subscribers / procs) + (k < subscribers % procs ? 1 : 0);
    const child = spawn(
      process.execPath,
      [join(here, 'mqtt/subscribers.mjs'), String(broker.port), String(n), filter, `127.0.0.${2 + k}`],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    loaders.push({ child, next: lines(child) });
  }
  await Promise.all(loaders.map((l) => l.next()));
  const pub = await publisher(broker.port);
  const cpu0 = cpuSeconds(broker.child.pid);
  const t0 = now();
  const pad = 'x'.repeat(Math.max(0, payloadBytes - 20));
  for (let i = 0; i < publications; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    const payload = `${now().toFixed(3)} ${pad}`.slice(0, Math.max(payloadBytes, 20));
    pub.write(mqttPacket.generate({ cmd: 'publish', topic: topicOf(i), payload, qos: 0, retain: false, dup: false }));
  }
  const expected = publications * subscribers;
  let received = 0;
  let latencies = [];
  const deadline = now() + 60_000 + (publications / rate) * 1000;
  let tEnd = now();
  while (now() < deadline) {
    const reports = await Promise.all(
      loaders.map(async (l) => {
        l.child.stdin.write('report\n');
        return JSON.parse(await l.next());
      }),
    );
    received = reports.reduce((s, r) => s + r.received, 0);
    latencies = reports.flatMap((r) => r.latencies);
    tEnd = now();
    if (received >= expected) break;
    await sleep(100);
  }
  const cpu = cpuSeconds(broker.child.pid) - cpu0;
  pub.destroy();
  for (const l of loaders) l.child.stdin.write('exit\n');
  await broker.stop();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  const seconds = (tEnd - t0) / 1000;
  return {
    broker: broker.name,
    expected,
    received,
    deliveriesPerSecond: received / seconds,
    deliveriesPerCpuSecond: cpu > 0 ? received / cpu : Number.NaN,
    cpuSeconds: cpu,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
  };
}

const results = [await runPeer(startTidings), await runPeer(startMosquitto)];
const [t, m] = results;
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d }) : 'n/a');
console.log(
  `subscribers ${subscribers} on ${filter}, publications ${publications} at ${rate}/s over ${channels} topic(s), payload ${payloadBytes} B, QoS 0`,
);
console.log('| broker | delivered | deliveries/s | deliveries per CPU-s | CPU s | p50 ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.broker} | ${fmt(r.received)} / ${fmt(r.expected)} | ${fmt(r.deliveriesPerSecond)} | ${fmt(r.deliveriesPerCpuSecond)} | ${fmt(r.cpuSeconds, 2)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} |`,
  );
}
console.log(
  `| ratio tidings/mosquitto | | ${fmt(t.deliveriesPerSecond / m.deliveriesPerSecond, 2)}× | ${fmt(t.deliveriesPerCpuSecond / m.deliveriesPerCpuSecond, 2)}× | | ${fmt(t.p50Ms / m.p50Ms, 2)}× | ${fmt(t.p99Ms / m.p99Ms, 2)}× |`,
);
if (jsonOut !== undefined)
  writeFileSync(
    jsonOut,
    JSON.stringify({ subscribers, filter, channels, publications, rate, payloadBytes, results }, null, 2),
  );
process.exit(0);
