// Per-publication timing inside the server (issue 5, "Where the time goes"): a preload for
// `tidings serve` that times each `Hub.broadcastPublication` (the pass that queues one unit per
// subscriber) and the session flushes that follow it (the socket writes), and prints medians when
// the server exits. It wraps two prototype methods of the built server; nothing else changes.
//
// Usage (after `npm run build`):
//   node --import ./bench/fanout-timing.mjs apps/tidings/bin/tidings.js serve --config cfg.json
//   ... run `tidings bench` against it, then stop the server with SIGTERM (or send SIGUSR2 for a
//   report while it runs). Publications with fewer than --min-flushes flushes are left out
//   (env FANOUT_TIMING_MIN, default 100), and so are the first 20 (warm-up).
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../packages/server/dist/core/', import.meta.url));
const { Hub } = await import(`${dist}hub.js`);
const { SessionWriter } = await import(`${dist}writer.js`);
const minFlushes = Number(process.env.FANOUT_TIMING_MIN ?? 100);
const rows = [];
let current;

const broadcast = Hub.prototype.broadcastPublication;
Hub.prototype.broadcastPublication = function (...args) {
  const start = performance.now();
  broadcast.apply(this, args);
  current = { start, queued: performance.now() - start, first: -1, last: -1, flushes: 0 };
  if (rows.length < 1_000_000) rows.push(current);
};
const flush = SessionWriter.prototype.flush;
SessionWriter.prototype.flush = function () {
  const row = current;
  if (row !== undefined && row.first < 0) row.first = performance.now() - row.start;
  flush.call(this);
  if (row !== undefined) {
    row.last = performance.now() - row.start;
    row.flushes++;
  }
};

function report() {
  const kept = rows.filter((r) => r.flushes >= minFlushes).slice(20);
  const median = (key) => {
    const sorted = kept.map((r) => r[key]).sort((a, b) => a - b);
    return sorted.length === 0 ? '-' : sorted[Math.floor(sorted.length / 2)].toFixed(2);
  };
  process.stderr.write(
    `fanout-timing: ${kept.length} publications, medians: queued in ${median('queued')} ms, ` +
      `first flush at ${median('first')} ms, last flush at ${median('last')} ms, ${median('flushes')} flushes\n`,
  );
}
process.on('SIGUSR2', report);
process.on('exit', report);
