#!/usr/bin/env node
// What one small output buffer costs (the allocation pass of issue 19): off-heap and on-heap
// typed arrays, TextEncoder, a slab view, Node's pool, and the encoders that use slabs now.
// Medians of 11 rounds of 100,000 in this process. Usage (after `npm run build`):
//   node bench/alloc-cost.mjs [--dir <a built checkout, default this one>] [--rounds 11] [--iterations 100000]
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, rounds: { type: 'string' }, iterations: { type: 'string' } },
});
const count = (name, fallback) => {
  const n = Number(values[name] ?? fallback);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`alloc-cost: --${name} must be a positive integer, got ${values[name]}`);
    process.exit(2);
  }
  return n;
};
const rounds = count('rounds', 11);
const iterations = count('iterations', 100_000);
const root = values.dir ?? fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(pathToFileURL(join(root, p)).href);
const protocol = await load('packages/protocol/dist/index.js');
const body = await load('packages/server/dist/broker/body-codec.js');
const enc = new TextEncoder();
const text = '{"push":{"channel":"bench:api-1","pub":{"offset":12345,"data":';
const data = enc.encode(JSON.stringify({ t: 1, x: 'a'.repeat(80) }));
const push = { channel: 'bench:api-1', pub: { offset: 1, data } };
const json = protocol.codecFor('json');
let slab = new Uint8Array(65536);
let at = 0;
const cases = [
  ['new Uint8Array(171) (off-heap)', () => new Uint8Array(171)],
  ['new Uint8Array(48) (on-heap)', () => new Uint8Array(48)],
  ['TextEncoder.encode, 60 characters', () => enc.encode(text)],
  [
    'a subarray view into a slab, 171 bytes',
    () => {
      if (at + 176 > slab.length) {
        slab = new Uint8Array(65536);
        at = 0;
      }
      const v = slab.subarray(at, at + 171);
      at += 176;
      return v;
    },
  ],
  ['Buffer.allocUnsafe(171) (Node pool)', () => Buffer.allocUnsafe(171)],
  ['encodePublicationBody, 100-byte data', () => body.encodePublicationBody({ data: data.subarray(0, 100) })],
  [
    'JSON encodePush, ~171 bytes',
    (i) => {
      push.pub.offset = i;
      return json.encodePush(push);
    },
  ],
];
for (const [name, f] of cases) {
  const r = [];
  for (let k = 0; k < rounds; k++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) f(i);
    r.push(Number(process.hrtime.bigint() - t) / iterations);
  }
  r.sort((a, b) => a - b);
  console.log(`${r[Math.floor(rounds / 2)].toFixed(0).padStart(7)} ns  ${name}`);
}
