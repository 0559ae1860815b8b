#!/usr/bin/env node
// Throughput cost of each engine against the memory engine, same scenario, same run.
// Scenario: one node, 100 subscribers on one channel (in-memory transports), C concurrent
// publishers calling node.publish (offset assignment + history append + fan-out) as fast as
// the engine acknowledges. Reports acknowledged publishes/s and deliveries/s per engine and the
// ratio to memory. The Redis and NATS engines use the services on loopback (Redis 6379, NATS
// JetStream 4222) with a private key prefix / streams that are deleted afterwards.
//
// Usage: npm run build && node bench/engines.mjs [--seconds 5] [--concurrency 32] [--engines memory,redis,nats]
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { jsonCodec } from '@tidings/protocol';
import { createJwtAuthenticator, createMemoryEngine, createNode } from '@tidings/server';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1];
};
const seconds = Number(arg('seconds', '5'));
const concurrency = Number(arg('concurrency', '32'));
const engines = arg('engines', 'memory,redis,nats').split(',');
const subscribers = 100;
const payload = new TextEncoder().encode(JSON.stringify({ price: 1, pad: 'x'.repeat(80) }));
const turn = () => new Promise((r) => setImmediate(r));

class CountingTransport {
  name = 'count';
  unidirectional = false;
  bufferedBytes = 0;
  codec = jsonCodec;
  frames = 0;
  write() {
    this.frames++;
  }
  writeMany(f) {
    this.frames += f.length;
  }
  close() {}
}

async function makeEngine(kind, prefix) {
  if (kind === 'memory') return { engine: createMemoryEngine(), cleanup: async () => {} };
  if (kind === 'redis') {
    const { createRedisEngine } = await import('@tidings/redis');
    const engine = createRedisEngine({ url: 'redis://127.0.0.1:6379', prefix });
    const cleanup = async () => {
      const { createClient } = await import('redis');
      const c = createClient({ url: 'redis://127.0.0.1:6379' });
      await c.connect();
      for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await c.unlink(keys);
      }
      await c.close();
    };
    return { engine, cleanup };
  }
  if (kind === 'nats') {
    const { createNatsEngine } = await import('@tidings/nats');
    const streamName = `TIDINGS_BENCH_${prefix.split(':')[1]}`;
    const engine = createNatsEngine({
      servers: '127.0.0.1:4222',
      streamName,
      subjectPrefix: `tidings-bench.${prefix.split(':')[1]}`,
    });
    const cleanup = async () => {
      const { connect } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const nc = await connect({ servers: '127.0.0.1:4222' });
      const jsm = await jetstreamManager(nc);
      for (const name of [streamName, `${streamName}_PRESENCE`, `${streamName}_IDEMPOTENCY`]) {
        await jsm.streams.delete(name).catch(() => false);
      }
      await nc.close();
    };
    return { engine, cleanup };
  }
  throw new Error(`unknown engine ${kind}`);
}

async function run(kind) {
  const prefix = `tidings-bench:${randomBytes(4).toString('hex')}:`;
  const { engine, cleanup } = await makeEngine(kind, prefix);
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { b: { allowSubscribeForAnonymous: true, historySize: 100, historyTtlMs: 60_000 } } },
    client: { maxQueueBytes: 256 * 1024 * 1024 },
  });
  await node.start();
  const transports = [];
  for (let i = 0; i < subscribers; i++) {
    const t = new CountingTransport();
    node.openSession(t).handleCommands([
      { id: 1, connect: {} },
      { id: 2, subscribe: { channel: 'b:bench' } },
    ]);
    transports.push(t);
  }
  for (let i = 0; i < 20; i++) await turn();
  const framesBefore = transports.reduce((a, t) => a + t.frames, 0);
  let acked = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          await node.publish('b:bench', payload);
          acked++;
        } catch {
          errors++;
        }
      }
    }),
  );
  for (let i = 0; i < 50; i++) await turn();
  const elapsed = (performance.now() - start) / 1000;
  const frames = transports.reduce((a, t) => a + t.frames, 0) - framesBefore;
  await node.shutdown();
  await cleanup();
  return { kind, publishesPerSec: acked / elapsed, frames, errors, elapsed };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
console.log(`engines: ${subscribers} subscribers, ${concurrency} concurrent publishers, ${seconds} s each\n`);
const results = [];
for (const kind of engines) {
  try {
    results.push(await run(kind));
  } catch (error) {
    console.log(`${kind}: skipped (${error.message})`);
  }
}
const memory = results.find((r) => r.kind === 'memory');
console.log('| engine | acknowledged publishes/s | ratio to memory | errors |');
console.log('|---|---:|---:|---:|');
for (const r of results) {
  const ratio = memory ? (r.publishesPerSec / memory.publishesPerSec).toFixed(3) : 'n/a';
  console.log(`| ${r.kind} | ${fmt(r.publishesPerSec)} | ${ratio}× | ${r.errors} |`);
}
