#!/usr/bin/env node
// Prints the ratio table of a bench/compare.sh run from its JSON files.
// Usage: node bench/compare-table.mjs OUT_DIR PEER... (the first peer is the one compared)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...peers] = process.argv.slice(2);
if (dir === undefined || peers.length === 0) {
  console.error('usage: node bench/compare-table.mjs OUT_DIR PEER...');
  process.exit(1);
}
const [self, ...others] = peers;
const scenarios = new Set();
for (const file of readdirSync(dir)) {
  const m = /^(.+)-n(\d+)-r(\d+)\.json$/.exec(file);
  if (m !== null) scenarios.add(`${m[2]} ${m[3]}`);
}
const load = (peer, n, rate) => {
  const file = join(dir, `${peer}-n${n}-r${rate}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
};
const num = (x) => Math.round(x).toLocaleString('en-US');
const ms = (us) => (us / 1000).toFixed(2);
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);

const head = [
  'subscribers',
  'rate',
  'peer',
  'deliveries/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'errors',
  'server CPU %',
  'µs user/delivery',
  'RSS MiB',
];
head.push(`${self} deliveries/s ÷ peer`, `${self} p99 ÷ peer`);
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`);
const sorted = [...scenarios].map((s) => s.split(' ').map(Number)).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
for (const [n, rate] of sorted) {
  const mine = load(self, n, rate);
  for (const peer of [self, ...others]) {
    const r = load(peer, n, rate);
    if (r === undefined) continue;
    const row = [
      num(n),
      rate === 0 ? 'saturating' : `${rate}/s`,
      peer,
      num(r.deliveriesPerSec),
      ms(r.latencyUs.p50),
      ms(r.latencyUs.p99),
      ms(r.latencyUs.p999),
      String(r.errors.total),
      r.server?.cpuPercent ?? '–',
      r.server?.userCpuUsPerDelivery ?? '–',
      r.server?.rssPeakMiB ?? '–',
      r.loadCpuPercent ?? '–',
      peer === self ? '' : ratio(mine?.deliveriesPerSec, r.deliveriesPerSec),
      peer === self ? '' : ratio(mine?.latencyUs.p99, r.latencyUs.p99),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
}
