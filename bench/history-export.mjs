#!/usr/bin/env node
// Memory of the streaming history export (GET /api/history/stream): a server process (memory
// engine, one namespace with historySize 1,000,000) is filled with 1,000,000 publications, then
// the whole history is exported twice: once by curl at full speed into /dev/null, once by a slow
// reader (throttled to --slow-mbps). The server's RSS is sampled from /proc every 20 ms during
// each export; the figure is the peak RSS during the export minus the RSS right before it.
// The history itself (hundreds of MiB in the memory engine) is resident before the export
// starts, so it is part of the baseline, not of the growth.
//
// Usage: npm run build && node bench/history-export.mjs [--count 1000000] [--slow-mbps 8]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const count = arg('--count', 1_000_000);
const slowMbps = arg('--slow-mbps', 8);
const apiKey = 'bench-key-0123456789';
const MiB = 1024 * 1024;

async function serve() {
  const { createApiHandler, createJwtAuthenticator, createMemoryEngine, createNode } = await import('@tidings/server');
  const node = createNode({
    ...createMemoryEngine(),
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { log: { historySize: count, historyTtlMs: 24 * 3600_000 } } },
  });
  await node.start();
  const api = createApiHandler(node, { apiKeys: [apiKey], exportPageSize: Number(process.env.BENCH_PAGE ?? 1000) });
  const server = createServer((req, res) => {
    void api(req, res).then((handled) => handled || res.writeHead(404).end());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const enc = new TextEncoder();
  for (let i = 0; i < count; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) {
      batch.push(node.publish('log:big', enc.encode(`{"n":${j},"price":123.45,"symbol":"AAPL"}`)));
    }
    await Promise.all(batch);
  }
  globalThis.gc?.();
  process.send({ port: server.address().port });
  process.on('message', (m) => {
    if (m === 'gc') {
      globalThis.gc?.();
      process.send({ gc: true });
    }
  });
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

/** Samples the child's RSS while `run` runs; returns { before, peak, result }. */
async function sampled(child, run) {
  child.send('gc');
  await new Promise((resolve) => child.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = rssOf(child.pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(child.pid));
  }, 20);
  const started = performance.now();
  const result = await run();
  clearInterval(timer);
  peak = Math.max(peak, rssOf(child.pid));
  return { before, peak, seconds: (performance.now() - started) / 1000, result };
}

/** curl at full speed into /dev/null (spawned, not spawnSync: the sampler must keep running). */
function curlExport(port) {
  const curl = spawn(
    'curl',
    ['-sS', '-N', '-o', '/dev/null', '-w', '%{size_download}', '-H', `X-API-Key: ${apiKey}`, exportUrl(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  curl.stdout.on('data', (chunk) => {
    out += chunk;
  });
  return new Promise((resolve, reject) =>
    curl.on('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`curl exited ${code}`)))),
  );
}

const exportUrl = (port) => `http://127.0.0.1:${port}/api/history/stream?channel=log:big`;

/** Reads the export at about `mbps` MB/s by pausing the socket; resolves with the bytes read. */
function slowExport(port, mbps) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let bytes = 0;
    let tail = '';
    const started = performance.now();
    socket.write(`GET /api/history/stream?channel=log:big HTTP/1.1\r\nHost: x\r\nX-API-Key: ${apiKey}\r\n\r\n`);
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-200);
      if (tail.includes('"type":"end"')) {
        socket.destroy();
        resolve(bytes);
        return;
      }
      const due = (bytes / (mbps * 1e6)) * 1000 - (performance.now() - started);
      if (due > 5) {
        socket.pause();
        setTimeout(() => socket.resume(), due);
      }
    });
    socket.on('error', reject);
  });
}

async function main() {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean),
      '--expose-gc',
      '--max-old-space-size=4096',
      fileURLToPath(import.meta.url),
      '--server',
      '--count',
      String(count),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const filled = performance.now();
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  console.log(
    `filled ${count.toLocaleString('en')} publications in ${((performance.now() - filled) / 1000).toFixed(1)} s; server RSS ${(rssOf(child.pid) / MiB).toFixed(0)} MiB`,
  );
  const rows = [
    ['curl -N > /dev/null (full speed)', () => curlExport(port)],
    [`slow reader (${slowMbps} MB/s)`, () => slowExport(port, slowMbps)],
  ];
  for (const [name, run] of rows) {
    const s = await sampled(child, run);
    console.log(
      `${name}: ${(s.result / MiB).toFixed(0)} MiB exported in ${s.seconds.toFixed(1)} s; ` +
        `RSS before ${(s.before / MiB).toFixed(0)} MiB, peak ${(s.peak / MiB).toFixed(0)} MiB, ` +
        `growth ${((s.peak - s.before) / MiB).toFixed(1)} MiB`,
    );
  }
  child.kill();
}

if (process.argv.includes('--server')) await serve();
else await main();
