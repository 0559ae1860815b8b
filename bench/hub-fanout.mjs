#!/usr/bin/env node
// Micro-benchmark of the hub fan-out path (no sockets): one channel, N subscribers on in-memory
// transports, publications through a real node with the memory engine. Side by side in the same
// run, a naive fan-out that encodes the push once per subscriber (what a per-client
// `JSON.stringify` server does) over the same transports, so the figure is a ratio.
//
// Usage: npm run build && node bench/hub-fanout.mjs [--quick]
import { performance } from 'node:perf_hooks';
import { jsonCodec, protobufCodec } from '@tidings/protocol';
import { createJwtAuthenticator, createMemoryEngine, createNode } from '@tidings/server';

const quick = process.argv.includes('--quick');
const sizes = [1, 100, 10_000];
const targetDeliveries = quick ? 200_000 : 2_000_000;
const payload = new TextEncoder().encode(JSON.stringify({ price: 123.45, symbol: 'AAPL', pad: 'x'.repeat(60) }));
const enc = new TextEncoder();
const turn = () => new Promise((r) => setImmediate(r));

/** Counts what the session writes; never buffers. */
class NullTransport {
  name = 'null';
  unidirectional = false;
  bufferedBytes = 0;
  frames = 0;
  bytes = 0;
  constructor(codec) {
    this.codec = codec;
  }
  write(frame) {
    this.frames++;
    this.bytes += frame.byteLength;
  }
  writeMany(frames) {
    for (const f of frames) this.write(f);
  }
  close() {}
}

async function makeNode() {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { bench: { allowSubscribeForAnonymous: true } } },
    client: { maxQueueBytes: 64 * 1024 * 1024 },
  });
  await node.start();
  return node;
}

async function tidingsRun(n, codec) {
  const node = await makeNode();
  const transports = [];
  for (let i = 0; i < n; i++) {
    const t = new NullTransport(codec);
    const s = node.openSession(t);
    s.handleCommands([
      { id: 1, connect: {} },
      { id: 2, subscribe: { channel: 'bench:fan' } },
    ]);
    transports.push(t);
    if (i % 1000 === 999) await turn();
  }
  for (let i = 0; i < 5; i++) await turn();
  const messages = Math.max(1, Math.floor(targetDeliveries / n));
  const before = transports.reduce((a, t) => a + t.frames, 0);
  const start = performance.now();
  for (let m = 0; m < messages; m++) {
    await node.publish('bench:fan', payload);
    if (m % 64 === 63) await turn();
  }
  await turn();
  const ms = performance.now() - start;
  const delivered = transports.reduce((a, t) => a + t.frames, 0) - before;
  await node.shutdown();
  return { messages, ms, deliveries: messages * n, frames: delivered };
}

async function naiveRun(n) {
  // Same transports, but the push is built and encoded per subscriber, one write each.
  const transports = Array.from({ length: n }, () => new NullTransport(jsonCodec));
  const messages = Math.max(1, Math.floor(targetDeliveries / n));
  const data = JSON.parse(new TextDecoder().decode(payload));
  const start = performance.now();
  for (let m = 0; m < messages; m++) {
    for (const t of transports) {
      t.write(enc.encode(JSON.stringify({ push: { channel: 'bench:fan', pub: { data, offset: m + 1 } } })));
    }
    if (m % 64 === 63) await turn();
  }
  const ms = performance.now() - start;
  return { messages, ms, deliveries: messages * n };
}

const rate = (r) => (r.deliveries / r.ms) * 1000;
const fmt = (x) => Math.round(x).toLocaleString('en-US');
console.log(`hub fan-out, ${payload.byteLength}-byte payload, ~${fmt(targetDeliveries)} deliveries per row\n`);
console.log('| subscribers | codec | tidings deliveries/s | naive per-subscriber encode deliveries/s | ratio |');
console.log('|---:|---|---:|---:|---:|');
for (const n of sizes) {
  for (const codec of [jsonCodec, protobufCodec]) {
    const t = await tidingsRun(n, codec);
    const naive = await naiveRun(n);
    console.log(
      `| ${fmt(n)} | ${codec.name} | ${fmt(rate(t))} | ${fmt(rate(naive))} | ${(rate(t) / rate(naive)).toFixed(2)}× |`,
    );
  }
}
