#!/usr/bin/env node
import { createJwtAuthenticator, createMemoryEngine, createNode } from '@tidings/server';
// Conflation and delta compression on a keyed state channel (no sockets, one process): a
// publisher updates 1,000 keys at up to 10,000 publications a second through a real node (memory
// engine). Three runs:
//   1. a subscriber that asked for 5 updates/s (subscribe data {"maxRate":5}) side by side with
//      an uncapped one (every publication, the reference);
//   2. an uncapped subscriber whose socket drains 256 KiB/s, namespace slowConsumer: conflate;
//   3. the same slow socket under the default policy (3008 once the 1 MiB queue is full).
// Reports per key the most updates in any one second, whether every key ends on its latest
// value, the age of what is delivered, heap over time, and bytes on the wire of a realistic
// device-document stream with fossil deltas and with JSON merge patches against whole documents.
//
// Usage: npm run build && node bench/state-conflation.mjs [--quick] [--seconds N]
import { createDelta } from 'fossil-delta';

const quick = process.argv.includes('--quick');
const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : quick ? 2 : 10;
const keys = 1000;
const ratePerSec = 10_000;
const cap = 5;
const enc = new TextEncoder();
const dec = new TextDecoder();
const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const device = (k, seq) => ({
  id: `device-${k}`,
  model: 'TH-200 temperature and humidity sensor',
  site: { building: 'North', floor: 3, room: `3-${100 + (k % 100)}` },
  firmware: '4.2.17',
  reading: { temperature: 20 + (seq % 70) / 10, humidity: 40 + (seq % 11), seq },
  alarms: [],
});

/** Records what a session writes, parsing the JSON pushes; drains at `bytesPerSec` when set. */
class RecordingTransport {
  name = 'bench';
  unidirectional = false;
  bufferedBytes = 0;
  closedWith = undefined;
  bytes = 0;
  pubs = 0;
  /** key -> Map(second -> count) */
  perKeySecond = new Map();
  last = new Map();
  ages = [];
  constructor(codec, bytesPerSec) {
    this.codec = codec;
    if (bytesPerSec !== undefined) {
      this.drain = setInterval(() => {
        this.bufferedBytes = Math.max(0, this.bufferedBytes - bytesPerSec / 100);
      }, 10);
      this.slow = true;
    }
  }
  write(frame) {
    this.bytes += frame.byteLength;
    if (this.slow) this.bufferedBytes += frame.byteLength;
    const now = Date.now();
    for (const line of dec.decode(frame).split('\n')) {
      if (!line.startsWith('{"push"')) continue;
      const pub = JSON.parse(line).push.pub;
      if (pub === undefined || pub.tags?.key === undefined) continue;
      this.pubs++;
      const key = pub.tags.key;
      const sec = Math.floor(now / 1000);
      let m = this.perKeySecond.get(key);
      if (m === undefined) {
        m = new Map();
        this.perKeySecond.set(key, m);
      }
      m.set(sec, (m.get(sec) ?? 0) + 1);
      this.last.set(key, pub.data.reading.seq);
      if (pub.time !== undefined && this.ages.length < 200_000) this.ages.push(now - pub.time);
    }
  }
  writeMany(frames) {
    for (const f of frames) this.write(f);
  }
  close(d) {
    this.closedWith = d;
    clearInterval(this.drain);
  }
  stop() {
    clearInterval(this.drain);
  }
  maxPerKeySecond() {
    let max = 0;
    for (const m of this.perKeySecond.values()) for (const n of m.values()) max = Math.max(max, n);
    return max;
  }
}

const { jsonCodec } = await import('@tidings/protocol');
const pct = (xs, p) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const mib = (b) => (b / 1024 / 1024).toFixed(1);

/** One run: a fresh node, these subscribers, the publisher for `seconds`. */
async function run(title, namespace, subscribers) {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { st: { state: true, allowSubscribeForAnonymous: true, ...namespace } } },
    client: { maxQueueBytes: 1024 * 1024 },
  });
  await node.start();
  for (const sub of Object.values(subscribers)) {
    const s = node.openSession(sub.transport);
    s.handleCommands([
      { id: 1, connect: {} },
      {
        id: 2,
        subscribe: { channel: 'st:devices', ...(sub.data ? { data: enc.encode(JSON.stringify(sub.data)) } : {}) },
      },
    ]);
  }
  for (let i = 0; i < 20; i++) await turn();
  const latest = new Map();
  const heap = [];
  const started = Date.now();
  let published = 0;
  const closedAt = new Map();
  const sampler = setInterval(() => {
    heap.push(process.memoryUsage().heapUsed);
    for (const [name, { transport }] of Object.entries(subscribers)) {
      if (!closedAt.has(name) && transport.closedWith !== undefined) closedAt.set(name, Date.now() - started);
    }
  }, 1000);
  // 100 publications every 10 ms = 10,000/s when the machine keeps up (the achieved rate is printed).
  let seq = 0;
  while (Date.now() - started < seconds * 1000) {
    const tickStart = Date.now();
    const batch = [];
    for (let i = 0; i < ratePerSec / 100; i++) {
      const k = seq % keys;
      latest.set(`d${k}`, seq);
      batch.push(node.publish('st:devices', enc.encode(JSON.stringify(device(k, seq))), { tags: { key: `d${k}` } }));
      seq++;
    }
    await Promise.all(batch);
    published += batch.length;
    const spent = Date.now() - tickStart;
    if (spent < 10) await sleep(10 - spent);
  }
  const elapsed = (Date.now() - started) / 1000;
  await sleep(1500);
  clearInterval(sampler);
  heap.push(process.memoryUsage().heapUsed);
  console.log(
    `\n${title}: ${published} publications over ${keys} keys in ${elapsed.toFixed(1)} s = ${Math.round(published / elapsed)}/s`,
  );
  console.log('| subscriber | delivered | most per key in 1 s | keys on latest | age p50 / p99 ms | closed |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const [name, { transport: t }] of Object.entries(subscribers)) {
    let onLatest = 0;
    for (const [k, v] of latest) if (t.last.get(k) === v) onLatest++;
    const closed =
      t.closedWith === undefined
        ? 'no'
        : `${t.closedWith.code} after ${((closedAt.get(name) ?? 0) / 1000).toFixed(0)} s`;
    console.log(
      `| ${name} | ${t.pubs} | ${t.maxPerKeySecond()} | ${onLatest} / ${keys} | ${pct(t.ages, 50)} / ${pct(t.ages, 99)} | ${closed} |`,
    );
    t.stop();
  }
  console.log(`heap MiB each second: ${heap.map(mib).join(' ')}`);
  await node.shutdown();
}

await run(
  'capped at 5/s, beside an uncapped subscriber',
  {},
  {
    [`capped ${cap}/s`]: { transport: new RecordingTransport(jsonCodec), data: { maxRate: cap } },
    uncapped: { transport: new RecordingTransport(jsonCodec) },
  },
);
await run(
  'slow socket (256 KiB/s), slowConsumer: conflate',
  { slowConsumer: 'conflate' },
  {
    'slow, conflate': { transport: new RecordingTransport(jsonCodec, 256 * 1024) },
  },
);
await run(
  'slow socket (256 KiB/s), slowConsumer: disconnect (default)',
  {},
  {
    'slow, disconnect': { transport: new RecordingTransport(jsonCodec, 256 * 1024) },
  },
);

// Bytes on the wire for one device's document stream: whole documents, fossil deltas against
// the previous document (what a `delta: fossil` subscriber receives), and RFC 7396 merge patches.
const { createMergePatch } = await import('../packages/server/dist/internal/merge-patch.js');
let full = 0;
let fossil = 0;
let patch = 0;
let prev;
for (let i = 0; i < 1000; i++) {
  const doc = device(7, i);
  const bytes = enc.encode(JSON.stringify(doc));
  full += bytes.byteLength;
  if (prev === undefined) {
    fossil += bytes.byteLength;
    patch += bytes.byteLength;
  } else {
    const d = createDelta(enc.encode(JSON.stringify(prev)), bytes);
    fossil += Math.min(d.byteLength, bytes.byteLength);
    const p = createMergePatch(prev, doc);
    patch +=
      p === undefined ? bytes.byteLength : Math.min(enc.encode(JSON.stringify(p.patch)).byteLength, bytes.byteLength);
  }
  prev = doc;
}
console.log(
  `1,000 updates of one device document: whole ${full} B, fossil ${fossil} B (${((100 * fossil) / full).toFixed(1)} %), merge patch ${patch} B (${((100 * patch) / full).toFixed(1)} %)`,
);
process.exit(0);
