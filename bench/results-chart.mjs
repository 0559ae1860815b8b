#!/usr/bin/env node
// Draws the chart of an issue 19 bench result (the JSON its --out wrote), as SVG bar panels of
// medians over rounds, for bench/RESULTS.md: no re-run needed to chart a result on record.
//
// Usage (after `npm run build`):
//   node bench/results-chart.mjs --kind publish-api|cross-node|workers --in result.json --out chart.svg
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeBarChart } from './bar-chart.mjs';

const usage =
  'Usage: node bench/results-chart.mjs --kind publish-api|cross-node|workers --in result.json --out chart.svg';
let values;
try {
  ({ values } = parseArgs({ options: { kind: { type: 'string' }, in: { type: 'string' }, out: { type: 'string' } } }));
} catch (error) {
  console.error(`results-chart: ${error.message}\n${usage}`);
  process.exit(2);
}
if (values.in === undefined || values.out === undefined || values.kind === undefined) {
  console.error(`results-chart: --kind, --in and --out are required\n${usage}`);
  process.exit(2);
}
let result;
try {
  result = JSON.parse(readFileSync(values.in, 'utf8'));
} catch (error) {
  console.error(`results-chart: cannot read ${values.in}: ${error.message}`);
  process.exit(1);
}
if (!Array.isArray(result.rows)) {
  console.error(`results-chart: ${values.in} has no rows; pass a file a bench's --out wrote`);
  process.exit(1);
}
const rows = result.rows;

/** Median of the finite values, NaN when none (the bar is then left out). */
function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const uniq = (xs) => [...new Set(xs)];
const of = (filter, key) => median(rows.filter(filter).map((r) => r[key]));
const rounds = Math.max(...rows.map((r) => r.round ?? 0)) + 1;

let title;
let panels;
if (values.kind === 'publish-api') {
  const engines = uniq(rows.map((r) => r.engine));
  const builds = uniq(rows.map((r) => r.build));
  const bars = (scenario) =>
    engines.flatMap((engine) =>
      builds.map((build) => ({
        label: `${engine === 'memory' ? 'mem.' : engine} ${build}`,
        value: of((r) => r.engine === engine && r.build === build && r.scenario === scenario, 'publishesPerSec'),
      })),
    );
  title = `HTTP publish API, ${result.connections} connections, batches of ${result.batch}, median of ${rounds} rounds (engine, build)`;
  panels = [
    { title: 'POST /api/publish', axis: 'publishes/s', bars: bars('single') },
    { title: `POST /api/batch (${result.batch} per request)`, axis: 'publishes/s', bars: bars('batch') },
  ];
} else if (values.kind === 'cross-node') {
  const engines = uniq(rows.map((r) => r.engine));
  const nodes = uniq(rows.map((r) => r.nodes)).sort((a, b) => a - b);
  const rates = uniq(rows.map((r) => r.rate)).sort((a, b) => a - b);
  title = `Publish on node A, deliver on every node: ${result.subscribers} subscribers, median of ${rounds} rounds (engine, nodes)`;
  const percentile = (rate, key, name) => ({
    title: `${name} at ${rate.toLocaleString('en-US')}/s`,
    axis: 'ms',
    bars: engines.flatMap((e) =>
      nodes.map((n) => ({
        label: `${e} ${n}`,
        value: of((r) => r.engine === e && r.nodes === n && r.rate === rate, key),
      })),
    ),
  });
  panels = rates.flatMap((rate) => [percentile(rate, 'p50Ms', 'p50'), percentile(rate, 'p99Ms', 'p99')]);
} else if (values.kind === 'workers') {
  const counts = uniq(rows.map((r) => r.workers)).sort((a, b) => a - b);
  const bars = (key) => counts.map((w) => ({ label: `--workers ${w}`, value: of((r) => r.workers === w, key) }));
  title = `tidings serve --workers N, ${result.subscribers} subscribers, memory engine, median of ${rounds} rounds`;
  panels = [
    { title: 'deliveries/s', axis: 'deliveries/s', bars: bars('deliveriesPerSec') },
    { title: 'server CPU, all processes', axis: '% of one core', bars: bars('serverCpuPct') },
    { title: 'load client CPU', axis: '% of one core', bars: bars('loadCpuPct') },
    { title: 'machine busy', axis: '% of all cores', bars: bars('machineBusyPct') },
  ];
} else {
  console.error(`results-chart: unknown --kind ${values.kind}\n${usage}`);
  process.exit(2);
}
await writeBarChart(values.out, title, panels);
console.log(`results-chart: wrote ${values.out}`);
