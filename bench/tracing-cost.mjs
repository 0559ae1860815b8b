#!/usr/bin/env node
// What OpenTelemetry tracing costs on the publish → fan-out path: a real node with the memory
// engine, one channel with N subscribers on in-memory transports, `node.publish` in a loop, with
// tracing off (no TraceHooks: what `tidings serve` runs unless tracing is configured) and on
// (the OpenTelemetry hooks of `tidings serve`: an engine-publish and a fan-out span per
// publication, batched, handed to an exporter that drops them) with every trace sampled and with
// `tracing.sampleRatio` 0.1, interleaved in the same process (the order rotates every round) so
// drift on a shared machine hits every side alike. Prints the median publications/s of each side
// and the ratios to off.
//
// With `--baseline <checkout>` (a built checkout of another commit, e.g. the one before tracing)
// a fourth side runs that checkout's @tidings/server with no tracing, to show that tracing off
// costs nothing against it.
//
// Usage: npm run build && node bench/tracing-cost.mjs [--rounds N] [--deliveries N] [--subscribers a,b]
//          [--baseline /path/to/checkout]
import { performance } from 'node:perf_hooks';
import { jsonCodec } from '@tidings/protocol';
import * as server from '@tidings/server';
import { configSchema } from '../apps/tidings/dist/config/schema.js';
import { createTracing } from '../apps/tidings/dist/tracing/otel-tracing.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg('--rounds', '7'));
const targetDeliveries = Number(arg('--deliveries', '200000'));
const minMessages = Number(arg('--min-messages', '200'));
const sizes = arg('--subscribers', '1,100,10000').split(',').map(Number);
const payload = new TextEncoder().encode(JSON.stringify({ price: 123.45, symbol: 'AAPL', pad: 'x'.repeat(60) }));
const baselineDir = arg('--baseline', undefined);
const baseline = baselineDir === undefined ? undefined : await import(`${baselineDir}/packages/server/dist/index.js`);
const { silentLogger } = server;
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

/** Receives every exported span and drops it (counts them). */
class DroppingExporter {
  exported = 0;
  export(spans, done) {
    this.exported += spans.length;
    done({ code: 0 });
  }
  shutdown() {
    return Promise.resolve();
  }
  forceFlush() {
    return Promise.resolve();
  }
}

async function run(n, sampleRatio, lib = server) {
  const { createJwtAuthenticator, createMemoryEngine, createNode } = lib;
  const engine = createMemoryEngine();
  const exporter = new DroppingExporter();
  const tracing =
    sampleRatio !== undefined
      ? createTracing({
          config: configSchema.parse({ tracing: { enabled: true, sampleRatio } }).tracing,
          env: {},
          version: 'bench',
          logger: silentLogger,
          exporter,
        })
      : undefined;
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { bench: { allowSubscribeForAnonymous: true } } },
    client: { maxQueueBytes: 64 * 1024 * 1024 },
    ...(tracing === undefined ? {} : { tracing: tracing.hooks }),
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
  const messages = Math.max(minMessages, Math.floor(targetDeliveries / n));
  const start = performance.now();
  for (let m = 0; m < messages; m++) {
    await node.publish('bench:fan', payload);
    if (m % 64 === 63) await turn();
  }
  await turn();
  const ms = performance.now() - start;
  await node.shutdown();
  await tracing?.shutdown();
  return { pubs: (messages / ms) * 1000, exported: exporter.exported };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (x) => Math.round(x).toLocaleString('en-US');

console.log(
  `tracing cost on publish → fan-out, ${rounds} interleaved rounds, ~${fmt(targetDeliveries)} deliveries each\n`,
);
console.log(
  `| subscribers | off publications/s (median) | on, all sampled | on/off | on, 10% sampled | 10%/off | off deliveries/s | spans exported (all sampled) |${baseline === undefined ? '' : ' baseline build, no tracing | off/baseline |'}`,
);
console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|${baseline === undefined ? '' : '---:|---:|'}`);
const sides = baseline === undefined ? [undefined, 1, 0.1] : [undefined, 1, 0.1, 'baseline'];
for (const n of sizes) {
  const results = sides.map(() => []);
  let exported = 0;
  // One discarded run of every side first: JIT warm-up must not land on one side.
  for (const side of sides) await (side === 'baseline' ? run(n, undefined, baseline) : run(n, side));
  for (let r = 0; r < rounds; r++) {
    // Rotate which side goes first so warm-up and drift do not favour one.
    for (let k = 0; k < sides.length; k++) {
      const side = (k + r) % sides.length;
      const t = sides[side] === 'baseline' ? await run(n, undefined, baseline) : await run(n, sides[side]);
      results[side].push(t.pubs);
      if (side === 1) exported += t.exported;
    }
  }
  const [off, all, tenth, base] = results.map(median);
  const baseCells = base === undefined ? '' : ` ${fmt(base)} | ${(off / base).toFixed(3)} |`;
  console.log(
    `| ${fmt(n)} | ${fmt(off)} | ${fmt(all)} | ${(all / off).toFixed(3)} | ${fmt(tenth)} | ${(tenth / off).toFixed(3)} | ${fmt(off * n)} | ${fmt(exported)} |${baseCells}`,
  );
}
