#!/usr/bin/env node
// Where a server's CPU time goes: reads a V8 .cpuprofile (from `node --cpu-prof`) and prints the
// functions with the most self time, and the same time grouped by where the code lives (Tidings'
// packages, ws, Node's own JavaScript, GC, native/idle). Used for issue 5's profiles
// (bench/RESULTS.md, "Where the time goes").
//
// Usage: node bench/cpu-profile-summary.mjs FILE.cpuprofile [--top 25] [--during NAME]
//   --during NAME  count only the samples between the first and the last one whose stack holds a
//                  function called NAME (e.g. `broadcastPublication`: the publishing window,
//                  without start-up and connecting)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    during: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || positionals.length !== 1) {
  console.error('Usage: node bench/cpu-profile-summary.mjs FILE.cpuprofile [--top 25] [--during NAME]');
  process.exit(values.help ? 0 : 2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

/** Whether the stack of node `id` holds a function called `name`. */
function stackHolds(id, name) {
  for (let at = id; at !== undefined; at = parentOf.get(at))
    if (byId.get(at)?.callFrame.functionName === name) return true;
  return false;
}

// The samples counted: all, or those between the first and last whose stack holds --during.
let first = 0;
let last = profile.samples.length - 1;
if (values.during !== undefined) {
  const hits = profile.samples.flatMap((id, i) => (stackHolds(id, values.during) ? [i] : []));
  if (hits.length === 0) {
    console.error(`no sample has ${values.during} on its stack`);
    process.exit(1);
  }
  first = hits[0];
  last = hits[hits.length - 1];
}

// Self time per node: the samples' time deltas attributed to the node sampled.
const selfUs = new Map();
for (let i = first; i <= last; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

/** Where a function's code lives, from its script URL. */
function areaOf(frame) {
  const url = frame.url;
  const name = frame.functionName;
  if (name === '(idle)') return 'idle (waiting in epoll)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return 'native (V8/libuv/syscalls outside JS)';
  if (url.startsWith('node:')) return 'Node.js internals (node:*)';
  if (url.includes('/node_modules/ws/')) return 'ws';
  if (url.includes('/packages/server/') || url.includes('/@tidings/server/')) return '@tidings/server';
  if (url.includes('/packages/protocol/') || url.includes('/@tidings/protocol/')) return '@tidings/protocol';
  if (url.includes('/apps/tidings/')) return 'apps/tidings';
  if (url.includes('/node_modules/')) return `other dependency (${url.split('/node_modules/').pop()?.split('/')[0]})`;
  if (url === '') return `native builtin (${name || 'anonymous'})`;
  return 'other';
}

const byFunction = new Map();
const byArea = new Map();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  total += us;
  const f = node.callFrame;
  const file = f.url.replace(/^.*\/(node_modules|packages|apps)\//, '$1/');
  const key = `${f.functionName || '(anonymous)'}  ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  const area = areaOf(f);
  byArea.set(area, (byArea.get(area) ?? 0) + us);
}

const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const window = values.during === undefined ? '' : `, while ${values.during} ran`;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${last - first + 1} samples${window}\n`);
console.log('by area (self time)');
for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1])) console.log(`${pct(us)} ${ms(us)}  ${area}`);
console.log(`\ntop ${values.top} functions (self time)`);
for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
  console.log(`${pct(us)} ${ms(us)}  ${key}`);
