#!/usr/bin/env node
// Prints the table of a bench/compare.sh run from its JSON files: per scenario and peer, the
// median of every figure over its runs, and the ratios first peer ÷ each other peer.
// Usage: node bench/compare-table.mjs OUT_DIR PEER... (the first peer is the one compared)
// Files are <peer>-n<subscribers>-r<rate>[-<run>].json, as compare.sh writes them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...peers] = process.argv.slice(2);
if (dir === undefined || peers.length === 0) {
  console.error('usage: node bench/compare-table.mjs OUT_DIR PEER...');
  process.exit(1);
}
const [self, ...others] = peers;

/** `${peer} ${n} ${rate}` → results of every run */
const runs = new Map();
const scenarios = new Set();
for (const file of readdirSync(dir)) {
  const m = /^(.+)-n(\d+)-r(\d+)(?:-\d+)?\.json$/.exec(file);
  if (m === null || !peers.includes(m[1])) continue;
  const key = `${m[1]} ${m[2]} ${m[3]}`;
  scenarios.add(`${m[2]} ${m[3]}`);
  const list = runs.get(key) ?? [];
  list.push(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  runs.set(key, list);
}

/** Median of the defined values (mean of the middle two for an even count), undefined when none. */
function median(values) {
  const xs = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** The medians of one peer in one scenario, or undefined when it has no run. */
function summary(peer, n, rate) {
  const list = runs.get(`${peer} ${n} ${rate}`);
  if (list === undefined) return undefined;
  const med = (pick) => median(list.map(pick));
  return {
    runs: list.length,
    transport: list[0].options.transport ?? 'centrifuge-ws',
    deliveriesPerSec: med((r) => r.deliveriesPerSec),
    p50: med((r) => r.latencyUs.p50),
    p99: med((r) => r.latencyUs.p99),
    p999: med((r) => r.latencyUs.p999),
    // Errors are summed, not a median: one failing run must show.
    errors: list.reduce((total, r) => total + r.errors.total, 0),
    lost: list.reduce((total, r) => total + Math.max(0, r.expectedDeliveries - r.deliveries), 0),
    cpu: med((r) => r.server?.cpuPercent),
    usPerDelivery: med((r) => r.server?.userCpuUsPerDelivery),
    sysUsPerDelivery: med((r) => r.server?.systemCpuUsPerDelivery),
    rss: med((r) => r.server?.rssPeakMiB),
    loadCpu: med((r) => r.loadCpuPercent),
  };
}

const num = (x) => (x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const ms = (us) => (us === undefined ? '–' : (us / 1000).toFixed(2));
const fixed = (x, digits) => (x === undefined ? '–' : x.toFixed(digits));
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);

const head = [
  'subscribers',
  'rate',
  'peer',
  'transport',
  'runs',
  'deliveries/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'errors',
  'lost',
  'server CPU %',
  'µs user/delivery',
  'µs system/delivery',
  'RSS MiB',
  'load CPU %',
  `${self} deliveries/s ÷ peer`,
  `${self} p99 ÷ peer`,
];
const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 4 ? '---' : '---:')).join('|')}|`];
const sorted = [...scenarios].map((s) => s.split(' ').map(Number)).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
for (const [n, rate] of sorted) {
  const mine = summary(self, n, rate);
  for (const peer of [self, ...others]) {
    const r = summary(peer, n, rate);
    if (r === undefined) continue;
    const row = [
      num(n),
      rate === 0 ? 'saturating' : `${rate}/s`,
      peer,
      r.transport,
      String(r.runs),
      num(r.deliveriesPerSec),
      ms(r.p50),
      ms(r.p99),
      ms(r.p999),
      String(r.errors),
      num(r.lost),
      fixed(r.cpu, 1),
      fixed(r.usPerDelivery, 3),
      fixed(r.sysUsPerDelivery, 3),
      fixed(r.rss, 1),
      fixed(r.loadCpu, 1),
      peer === self ? '' : ratio(mine?.deliveriesPerSec, r.deliveriesPerSec),
      peer === self ? '' : ratio(mine?.p99, r.p99),
    ];
    lines.push(`| ${row.join(' | ')} |`);
  }
}
console.log(lines.join('\n'));
console.log(
  `\nMedians over the runs of each scenario; errors and lost deliveries (expected − delivered) are summed over runs.`,
);
