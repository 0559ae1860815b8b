#!/usr/bin/env node
// What one small output buffer costs (the allocation pass of issue 19): off-heap and on-heap
// typed arrays, TextEncoder, a slab view, Node's pool, and the encoders that use slabs now.
// Medians of 11 rounds of 100,000 in this process. Usage (after `npm run build`):
//   node bench/alloc-cost.mjs [--dir <a built checkout, default this one>]
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'string' } } });
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
  for (let k = 0; k < 11; k++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 100_000; i++) f(i);
    r.push(Number(process.hrtime.bigint() - t) / 100_000);
  }
  r.sort((a, b) => a - b);
  console.log(`${r[5].toFixed(0).padStart(7)} ns  ${name}`);
}
