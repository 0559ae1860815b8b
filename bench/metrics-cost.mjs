#!/usr/bin/env node
// What metrics cost on the fan-out hot path: the hub-fanout scenario (one channel, N subscribers
// on in-memory transports, a real node with the memory engine) with metrics off and on
// (MetricsRecorder: deliveries, bytes and engine→socket latency per flush), interleaved
// off/on/off/on in the same process so drift on a shared machine hits both sides alike.
// Prints the median deliveries/s of each side and on/off.
//
// Usage: npm run build && node bench/metrics-cost.mjs [--rounds N] [--deliveries N] [--subscribers a,b]
import { performance } from 'node:perf_hooks';
import { jsonCodec } from '@tidings/protocol';
import { createJwtAuthenticator, createMemoryEngine, createNode, MetricsRecorder } from '@tidings/server';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg('--rounds', '7'));
const targetDeliveries = Number(arg('--deliveries', '2000000'));
const sizes = arg('--subscribers', '100,10000').split(',').map(Number);
const payload = new TextEncoder().encode(JSON.stringify({ price: 123.45, symbol: 'AAPL', pad: 'x'.repeat(60) }));
const turn = () => new Promise((r) => setImmediate(r));

class NullTransport {
  name = 'websocket';
  unidirectional = false;
  bufferedBytes = 0;
  frames = 0;
  constructor(codec) {
    this.codec = codec;
  }
  write() {
    this.frames++;
  }
  writeMany(frames) {
    this.frames += frames.length;
  }
  close() {}
}

async function run(n, metrics) {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { bench: { allowSubscribeForAnonymous: true } } },
    client: { maxQueueBytes: 64 * 1024 * 1024 },
    ...(metrics === undefined ? {} : { metrics }),
  });
  await node.start();
  for (let i = 0; i < n; i++) {
    const s = node.openSession(new NullTransport(jsonCodec));
    s.handleCommands([
      { id: 1, connect: {} },
      { id: 2, subscribe: { channel: 'bench:fan' } },
    ]);
    if (i % 1000 === 999) await turn();
  }
  for (let i = 0; i < 5; i++) await turn();
  const messages = Math.max(1, Math.floor(targetDeliveries / n));
  const start = performance.now();
  for (let m = 0; m < messages; m++) {
    await node.publish('bench:fan', payload);
    if (m % 64 === 63) await turn();
  }
  await turn();
  const ms = performance.now() - start;
  await node.shutdown();
  return ((messages * n) / ms) * 1000;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (x) => Math.round(x).toLocaleString('en-US');

console.log(`metrics cost on hub fan-out, ${rounds} interleaved rounds, ~${fmt(targetDeliveries)} deliveries each\n`);
console.log(
  '| subscribers | metrics off deliveries/s (median) | metrics on deliveries/s (median) | on/off | on counted |',
);
console.log('|---:|---:|---:|---:|---:|');
for (const n of sizes) {
  const off = [];
  const on = [];
  let counted = 0;
  for (let r = 0; r < rounds; r++) {
    const recorder = new MetricsRecorder();
    // Alternate which side goes first so warm-up and drift do not favour one.
    if (r % 2 === 0) {
      off.push(await run(n, undefined));
      on.push(await run(n, recorder));
    } else {
      on.push(await run(n, recorder));
      off.push(await run(n, undefined));
    }
    counted += recorder.transports.get('websocket')?.deliveries ?? 0;
  }
  const a = median(off);
  const b = median(on);
  console.log(`| ${fmt(n)} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(3)} | ${fmt(counted)} |`);
}
