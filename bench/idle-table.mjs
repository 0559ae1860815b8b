#!/usr/bin/env node
// Prints the idle-memory table of a `SCENARIO=idle bench/compare.sh` run from its JSON files.
// Usage: node bench/idle-table.mjs OUT_DIR PEER... (the first peer is the one compared)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...peers] = process.argv.slice(2);
if (dir === undefined || peers.length === 0) {
  console.error('usage: node bench/idle-table.mjs OUT_DIR PEER...');
  process.exit(1);
}
const [self] = peers;
const counts = new Set();
for (const file of readdirSync(dir)) {
  const m = /^.+-n(\d+)-r0\.json$/.exec(file);
  if (m !== null) counts.add(Number(m[1]));
}
const load = (peer, n) => {
  const file = join(dir, `${peer}-n${n}-r0.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
};
const num = (x) => Math.round(x).toLocaleString('en-US');
const head = [
  'connections',
  'peer',
  'connected',
  'errors',
  'RSS before MiB',
  'RSS connected MiB',
  'RSS end MiB',
  'KiB/connection, end',
  'KiB/connection, connected',
  `${self} ÷ peer (end)`,
];
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
for (const n of [...counts].sort((a, b) => a - b)) {
  const mine = load(self, n)?.idle;
  for (const peer of peers) {
    const r = load(peer, n);
    if (r === undefined) continue;
    const i = r.idle;
    const ratio =
      mine === undefined || i === undefined || i.perConnectionEndKiB <= 0
        ? '–'
        : `${(mine.perConnectionEndKiB / i.perConnectionEndKiB).toFixed(2)}×`;
    const row = [num(n), peer, num(r.connected), String(r.errors.total)];
    if (i === undefined) row.push('–', '–', '–', '–', '–', ratio);
    else
      row.push(
        String(i.rssBeforeMiB),
        String(i.rssConnectedMiB),
        String(i.rssEndMiB),
        String(i.perConnectionEndKiB),
        String(i.perConnectionConnectedKiB),
        ratio,
      );
    console.log(`| ${row.join(' | ')} |`);
  }
}
