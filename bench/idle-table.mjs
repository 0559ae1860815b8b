#!/usr/bin/env node
// Prints the idle-memory table of a `SCENARIO=idle bench/compare.sh` run (bench/idle-memory.sh)
// from its JSON files: per connection count and peer, the median over its runs of the server's
// RSS per connection, every run's figure, and the ratio first peer ÷ each peer.
// Usage: node bench/idle-table.mjs OUT_DIR PEER... (the first peer is the one compared)
// Files are <peer>-n<connections>-r0[-<run>].json, as compare.sh writes them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...peers] = process.argv.slice(2);
if (dir === undefined || peers.length === 0) {
  console.error('usage: node bench/idle-table.mjs OUT_DIR PEER...');
  process.exit(1);
}
const [self] = peers;

/** `${peer} ${n}` → results of every run, in run order */
const runs = new Map();
const counts = new Set();
for (const file of readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
  const m = /^(.+)-n(\d+)-r0(?:-\d+)?\.json$/.exec(file);
  if (m === null || !peers.includes(m[1])) continue;
  counts.add(Number(m[2]));
  const key = `${m[1]} ${m[2]}`;
  runs.set(key, [...(runs.get(key) ?? []), JSON.parse(readFileSync(join(dir, file), 'utf8'))]);
}

/** Median of the finite values (mean of the middle two for an even count), undefined when none. */
function median(values) {
  const xs = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

function summary(peer, n) {
  const list = runs.get(`${peer} ${n}`);
  if (list === undefined) return undefined;
  const med = (pick) => median(list.map((r) => (r.idle === undefined ? undefined : pick(r.idle))));
  return {
    runs: list.length,
    connected: Math.min(...list.map((r) => r.connected)),
    // Summed, not a median: one failing run must show.
    errors: list.reduce((total, r) => total + r.errors.total, 0),
    connectPerSec: median(list.map((r) => r.connectPerSec)),
    before: med((i) => i.rssBeforeMiB),
    end: med((i) => i.rssEndMiB),
    perEnd: med((i) => i.perConnectionEndKiB),
    perConnected: med((i) => i.perConnectionConnectedKiB),
    each: list.map((r) => (r.idle === undefined ? '–' : String(r.idle.perConnectionEndKiB))).join(', '),
  };
}

const num = (x) => (x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const fig = (x) => (x === undefined ? '–' : String(Math.round(x * 100) / 100));
const head = [
  'connections',
  'peer',
  'runs',
  'connected (min)',
  'errors',
  'connects/s',
  'RSS before MiB',
  'RSS end MiB',
  'KiB/connection, end',
  'each run',
  'KiB/connection, connected',
  `${self} ÷ peer (end)`,
];
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
for (const n of [...counts].sort((a, b) => a - b)) {
  const mine = summary(self, n);
  for (const peer of peers) {
    const s = summary(peer, n);
    if (s === undefined) continue;
    const ratio =
      mine?.perEnd === undefined || s.perEnd === undefined || s.perEnd <= 0
        ? '–'
        : `${(mine.perEnd / s.perEnd).toFixed(2)}×`;
    const row = [num(n), peer, String(s.runs), num(s.connected), String(s.errors), num(s.connectPerSec)];
    row.push(fig(s.before), fig(s.end), fig(s.perEnd), s.each, fig(s.perConnected), ratio);
    console.log(`| ${row.join(' | ')} |`);
  }
}
