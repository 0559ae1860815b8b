#!/usr/bin/env node
// Publish through gRPC against the JSON HTTP API (issue 16), same server, same run.
// Starts one `tidings serve` (memory engine, `http.h2c` so gRPC and HTTP/1.1 share the port),
// pinned to core 0 (`taskset -c 0`) while this process pins itself to core 1, and drives it with
// --concurrency closed-loop publishers (each sends its next publish when the last is answered),
// one channel, --payload-bytes of JSON per publication, in alternating rounds so both APIs see
// the same machine state:
//   json-http1    POST /api/publish (JSON), node:http keep-alive agent, one socket per publisher
//   grpc-h2c      tidings.api.v1.ApiService/Publish with @grpc/grpc-js, one HTTP/2 connection
//   connect-http1 the same RPC with the Connect protocol (binary Protobuf) over HTTP/1.1
// Reports acknowledged publishes/s and request latency p50/p99 (per response, µs precision),
// the server's and this process's CPU time per publish, the median of --rounds rounds, and the
// ratio of each to json-http1. The client libraries'
// own cost is part of the figure (this is what a Node backend sees).
//
// Usage (after `npm run build`):
//   node bench/grpc-publish.mjs [--duration 5] [--rounds 3] [--concurrency 32]
//        [--payload-bytes 100] [--port 8951 (0: a free one)] [--scenarios json-http1,grpc-h2c,connect-http1] [--no-pin]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    'payload-bytes': { type: 'string', default: '100' },
    port: { type: 'string', default: '8951' },
    scenarios: { type: 'string', default: 'json-http1,grpc-h2c,connect-http1' },
    out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
/** A port nothing listens on right now (for --port 0). */
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
const port = Number(values.port) === 0 ? await freePort() : Number(values.port);
const scenarios = values.scenarios.split(',');
const pin = !values['no-pin'];
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'apps/tidings/bin/tidings.js');
const protoDir = join(root, 'packages/connect/proto');
const { ApiService } = await import(join(root, 'packages/connect/dist/index.js'));
const apiKey = `bench-grpc-${randomBytes(8).toString('hex')}`;
const log = (line) => process.stderr.write(`${line}\n`);
const num = (n) => Math.round(n).toLocaleString('en-US');
const payload = JSON.stringify({ v: 'x'.repeat(Math.max(0, Number(values['payload-bytes']) - 8)) });
const payloadBytes = Buffer.from(payload);

if (pin) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const dir = mkdtempSync(join(tmpdir(), 'tidings-grpc-bench-'));
const configFile = join(dir, 'tidings.json');
writeFileSync(
  configFile,
  JSON.stringify({
    http: { host: '127.0.0.1', port, h2c: true },
    api: { keys: [apiKey] },
    channels: { namespaces: { bench: { historySize: 100, historyTtlMs: 60_000 } } },
    log: { level: 'warn' },
  }),
);
const serverArgs = [cli, 'serve', '--config', configFile];
const server = pin
  ? spawn('taskset', ['-c', '0', process.execPath, ...serverArgs], { stdio: ['ignore', 'ignore', 'inherit'] })
  : spawn(process.execPath, serverArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {}
  if (i > 100) {
    server.kill('SIGKILL');
    throw new Error('tidings serve did not start');
  }
  await new Promise((r) => setTimeout(r, 100));
}

/** One scenario's publisher: resolves when one publish is acknowledged. */
function makePublisher(name) {
  if (name === 'json-http1') {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const body = JSON.stringify({ channel: 'bench:json', data: JSON.parse(payload) });
    const headers = {
      'x-api-key': apiKey,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    return {
      publish: () =>
        new Promise((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port, path: '/api/publish', method: 'POST', agent, headers },
            (res) => {
              res.resume();
              res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
            },
          );
          req.on('error', reject);
          req.end(body);
        }),
      close: () => agent.destroy(),
    };
  }
  if (name === 'grpc-h2c') {
    const pkg = protoLoader.loadSync(join(protoDir, 'tidings/api/v1/api.proto'), { longs: String });
    const Service = grpc.loadPackageDefinition(pkg).tidings.api.v1.ApiService;
    const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('x-api-key', apiKey);
    const req = { channel: 'bench:grpc', data: payloadBytes };
    return {
      publish: () =>
        new Promise((resolve, reject) => {
          client.publish(req, md, (error, res) =>
            error || res.error ? reject(error ?? new Error('refused')) : resolve(),
          );
        }),
      close: () => client.close(),
    };
  }
  if (name === 'connect-http1') {
    const client = createClient(
      ApiService,
      createConnectTransport({ baseUrl: base, httpVersion: '1.1', useBinaryFormat: true }),
    );
    const headers = { 'x-api-key': apiKey };
    return {
      publish: async () => {
        const res = await client.publish({ channel: 'bench:connect', data: payloadBytes }, { headers });
        if (res.error) throw new Error('refused');
      },
      close: () => undefined,
    };
  }
  throw new Error(`unknown scenario ${name}`);
}

/** CPU seconds the server process used so far (Linux /proc; user + system). */
const serverCpu = () => {
  try {
    const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
};

async function runRound(name) {
  const publisher = makePublisher(name);
  // Warm-up: connections, JIT.
  await Promise.all(Array.from({ length: concurrency }, () => publisher.publish()));
  const latencies = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await publisher.publish();
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  const cpu0 = serverCpu();
  const client0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  const serverUs = ((serverCpu() - cpu0) * 1e6) / latencies.length;
  const used = process.cpuUsage(client0);
  const clientUs = (used.user + used.system) / latencies.length;
  publisher.close();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    name,
    publishesPerSec: latencies.length / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    serverUs,
    clientUs,
    errors,
  };
}

const results = Object.fromEntries(scenarios.map((s) => [s, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const s of scenarios) {
      const row = await runRound(s);
      results[s].push(row);
      log(
        `round ${r + 1} ${s}: ${num(row.publishesPerSec)} publishes/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, server CPU ${row.serverUs.toFixed(0)} µs/publish, client CPU ${row.clientUs.toFixed(0)} µs/publish, errors ${row.errors}`,
      );
    }
  }
} finally {
  server.kill('SIGTERM');
}

const median = (rows) => [...rows].sort((a, b) => a.publishesPerSec - b.publishesPerSec)[Math.floor(rows.length / 2)];
const table = scenarios.map((s) => median(results[s]));
const reference = table.find((r) => r.name === 'json-http1') ?? table[0];
console.log(
  '| API | publishes/s | ratio to json-http1 | p50 ms | p99 ms | server CPU µs/publish | client CPU µs/publish | errors |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const row of table) {
  const ratio = row.publishesPerSec / reference.publishesPerSec;
  console.log(
    `| ${row.name} | ${num(row.publishesPerSec)} | ${ratio.toFixed(2)} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.serverUs.toFixed(0)} | ${row.clientUs.toFixed(0)} | ${row.errors} |`,
  );
}
if (values.out) writeFileSync(values.out, JSON.stringify({ concurrency, durationMs, rounds, results }, null, 2));
process.exit(0);
